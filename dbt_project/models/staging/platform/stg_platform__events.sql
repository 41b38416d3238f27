with

source as (

    select * from {{ source('platform', 'events') }}
    where {{ as_of_filter() }}

),

typed as (

    select
        {{ clean_text('event_id') }} as event_id,
        {{ clean_text('user_id') }} as user_id,
        {{ clean_text('course_id') }} as course_id,
        {{ lower_snake('event_type') }} as event_type,
        -- rating belongs to rate events, amount to purchases: elsewhere they are noise
        case when {{ lower_snake('event_type') }} = 'rate' and {{ to_int('rating') }} between 1 and 5
            then {{ to_int('rating') }} end as rating,
        case when {{ lower_snake('event_type') }} = 'purchase' then {{ to_money('amount') }} end as amount,
        {{ to_local_ts('occurred_at') }} as occurred_at,
        _delivery_date,
        _source_file,
        _source_line
    from source

),

deletions as (

    select * from {{ ref('stg_platform__deletions') }}

),

final as (

    select * from typed
    where event_id is not null
        and user_id not in (select user_id from deletions)
    {{ first_delivery_per(['event_id']) }}

)

select * from final
