{#- Behavioural summary per person with at least one interaction: the K-means inputs and the
    behavioural half of risk_tolerance. -#}
with

interactions as (

    select
        *,
        {{ decayed_weight('event_weight', 'occurred_at') }} as weight,
        {{ age_days('occurred_at') }} as age_days
    from {{ ref('int_interactions_unified') }}

),

items as (

    select * from {{ ref('int_items_unified') }}

),

final as (

    select
        interactions.person_id,
        count(*)::integer as event_count,
        count(distinct interactions.occurred_at::date)::integer as active_days,
        count(distinct interactions.item_key)::integer as item_count,
        count(distinct interactions.source)::integer as source_count,
        coalesce(sum(interactions.amount) filter (where interactions.event_type = 'purchase'), 0)::decimal(18, 2) as monetary,
        -- rounded for the same reason as finance_risk_avg below: parallel float sums differ in
        -- the last bits between reruns of a day
        {{ round_significant('sum(interactions.weight)') }} as weight_total,
        min(interactions.age_days) as recency_days,
        max(interactions.occurred_at) as last_at,
        -- finance products the person engaged with, weighted by engagement
        -- rounded: parallel float sums differ in the last bits between runs, which would flip
        -- risk_tolerance at an exact .5 (a rerun of a day must give the same marts)
        {{ round_to(
            'sum(interactions.weight * items.risk_level) filter (where items.risk_level is not null)
            / nullif(sum(interactions.weight) filter (where items.risk_level is not null), 0)',
            6) }} as finance_risk_avg
    from interactions
    left join items on interactions.item_key = items.item_key
    group by interactions.person_id

)

select * from final
