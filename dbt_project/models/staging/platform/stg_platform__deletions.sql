{#- (v2, optional entity) Erasure requests as of run_date, one row per user_id (the earliest
    request). xrec.privacy.erasure purges the person from raw before dbt runs; staging also
    leaves them out of users and events, so a build without that step cannot bring them back. -#}
with

source as (

    select * from {{ relation_or_empty(source('platform', 'deletions'), ['user_id', 'requested_at']) }}
    where {{ as_of_filter() }}

),

typed as (

    select
        {{ clean_text('user_id') }} as user_id,
        {{ to_local_ts('requested_at') }} as requested_at,
        _delivery_date
    from source

),

final as (

    select user_id, min(requested_at) as requested_at, min(_delivery_date) as _delivery_date
    from typed
    where user_id is not null
    group by user_id

)

select * from final
