{#- Feedback on delivered recommendations. Optional per partner: a partner that has not
    delivered outcomes yet contributes no rows instead of failing the build. Incremental on
    delivery partitions (macros/incremental_deliveries.sql). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    unique_key='outcome_id',
    post_hook="{{ drop_stale_deliveries(partitions_of('outcomes', optional=true), 'partner') }}",
) }}
with

unioned as (

    {% call(partner, relation) union_partners('outcomes', ['customer_id', 'item_id', 'recommended_on', 'event_type', 'occurred_at']) %}
    select
        '{{ partner }}' as partner,
        {{ clean_text('customer_id') }} as customer_id,
        {{ clean_text('item_id') }} as item_id,
        {{ try_cast(clean_text('recommended_on'), 'date') }} as recommended_date,
        {{ lower_snake('event_type') }} as event_type,
        {{ to_local_ts('occurred_at') }} as occurred_at,
        _delivery_date,
        _source_file,
        _source_line
    from {{ relation }}
    where {{ as_of_filter() }}
    {% endcall %}

),

partitions as (

    {{ partitions_of('outcomes', optional=true) }}

),

stamped as (

    -- outcomes have no id of their own: an identical event re-sent is the same event
    select
        md5(concat_ws('|', unioned.partner, unioned.customer_id, unioned.item_id, unioned.recommended_date,
            unioned.event_type, unioned.occurred_at)) as outcome_id,
        unioned.*,
        partitions.partition_loaded_at as _loaded_at
    from unioned
    left join partitions
        on unioned.partner = partitions.partition_source
        and unioned._delivery_date = partitions.partition_date
    where unioned.customer_id is not null and unioned.item_id is not null

),

final as (

    {% call first_delivery_per(['outcome_id']) %}
    select * from stamped
    where true
        {{ keys_to_recompute('stamped', ['outcome_id'], 'select * from partitions', 'partner') }}
    {% endcall %}

)

select * from final
