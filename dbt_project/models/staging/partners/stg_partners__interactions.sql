{#- One model for every partner's interactions (shared shape); partners from var('partners').
    Incremental on delivery partitions (macros/incremental_deliveries.sql). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    unique_key=['partner', 'interaction_id'],
    post_hook="{{ drop_stale_deliveries(partitions_of('interactions'), 'partner') }}",
) }}
with

unioned as (

    {% call(partner, relation) union_partners('interactions') %}
    select
        '{{ partner }}' as partner,
        {{ clean_text('interaction_id') }} as interaction_id,
        {{ clean_text('customer_id') }} as customer_id,
        {{ clean_text('item_id') }} as item_id,
        {{ lower_snake('event_type') }} as event_type,
        {{ to_money('amount') }} as amount,
        {{ to_local_ts('occurred_at') }} as occurred_at,
        _delivery_date,
        _source_file,
        _source_line
    from {{ relation }}
    where {{ as_of_filter() }}
    {% endcall %}

),

partitions as (

    {{ partitions_of('interactions') }}

),

stamped as (

    select unioned.*, partitions.partition_loaded_at as _loaded_at
    from unioned
    left join partitions
        on unioned.partner = partitions.partition_source
        and unioned._delivery_date = partitions.partition_date

),

final as (

    {% call first_delivery_per(['partner', 'interaction_id']) %}
    select * from stamped
    where interaction_id is not null
        {{ keys_to_recompute('stamped', ['partner', 'interaction_id'], 'select * from partitions', 'partner') }}
    {% endcall %}

)

select * from final
