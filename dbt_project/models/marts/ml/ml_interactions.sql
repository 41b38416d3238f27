{#- One row per person x item up to run_date; weight = sum of decayed event weights.
    Events on items missing from the catalogue are left out (they cannot be recommended). -#}
with

interactions as (

    select *, {{ decayed_weight('event_weight', 'occurred_at') }} as weight
    from {{ ref('int_interactions_unified') }}

),

items as (

    select * from {{ ref('int_items_unified') }}

),

final as (

    select
        interactions.person_id,
        interactions.item_key,
        -- rounded: parallel sums differ in the last bits between runs, and a rerun of a day
        -- must give the same marts (and so the same model version)
        {{ round_significant('sum(interactions.weight)') }} as weight,
        count(*)::integer as event_count,
        min(interactions.occurred_at) as first_at,
        max(interactions.occurred_at) as last_at,
        -- the marts gate validates the pairs delivered since its last pass (a plain filtered scan)
        max(interactions._delivery_date) as delivered_date
    from interactions
    inner join items on interactions.item_key = items.item_key
    group by interactions.person_id, interactions.item_key

)

select * from final
