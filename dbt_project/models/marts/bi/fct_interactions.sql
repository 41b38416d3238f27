{#- One row per deduplicated event or interaction, platform and partners alike. -#}
with

interactions as (

    select *, {{ decayed_weight('event_weight', 'occurred_at') }} as weight
    from {{ ref('int_interactions_unified') }}

),

final as (

    select
        interaction_key,
        person_id,
        item_key,
        source,
        event_type,
        rating,
        amount,
        occurred_at,
        occurred_at::date as occurred_date,
        _delivery_date as delivered_date,
        event_weight,
        weight as decayed_weight
    from interactions

)

select * from final
