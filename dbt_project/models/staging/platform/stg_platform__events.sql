{#- Incremental on delivery partitions (macros/incremental_deliveries.sql): a run stages the new
    and re-delivered drops, not the history. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    unique_key='event_id',
    post_hook=[
        "{{ drop_stale_deliveries(partitions_of('events', 'platform'), \"'platform'\") }}",
        "delete from {{ this }} where user_id in (select user_id from {{ ref('stg_platform__deletions') }})",
    ],
) }}
with

source as (

    select * from {{ source('platform', 'events') }}
    where {{ as_of_filter() }}

),

partitions as (

    {{ partitions_of('events', 'platform') }}

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
        source._delivery_date,
        source._source_file,
        source._source_line,
        partitions.partition_loaded_at as _loaded_at
    from source
    left join partitions on source._delivery_date = partitions.partition_date

),

deletions as (

    select * from {{ ref('stg_platform__deletions') }}

),

final as (

    {% call first_delivery_per(['event_id']) %}
    select * from typed
    where event_id is not null
        and user_id not in (select user_id from deletions)
        {{ keys_to_recompute('typed', ['event_id'], 'select * from partitions', "'platform'") }}
    {% endcall %}

)

select * from final
