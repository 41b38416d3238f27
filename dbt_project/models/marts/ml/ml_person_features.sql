{#- LightFM user features, long form (person_id, feature, value):
    age_band:<band>, city_tier:<n>, city:<city>, segment:<id> and account:<source> with value 1;
    interaction-derived families topic:, style:, brand:, risk: with the person's share of decayed
    interaction weight on items carrying each such feature of ml_item_features (a person's values
    of one family sum to 1). ml/evaluate.py recomputes these from the training split (same rule). -#}
with

persons as (

    select * from {{ ref('int_persons') }}

),

identity as (

    select * from {{ ref('int_identity') }}

),

interactions as (

    select *, {{ decayed_weight('event_weight', 'occurred_at') }} as weight
    from {{ ref('int_interactions_unified') }}

),

item_features as (

    select * from {{ ref('ml_item_features') }}

),

derived_weights as (

    select
        interactions.person_id,
        split_part(item_features.feature, ':', 1) as family,
        item_features.feature,
        sum(interactions.weight) as weight
    from interactions
    inner join item_features on interactions.item_key = item_features.item_key
    where split_part(item_features.feature, ':', 1) in ('topic', 'style', 'brand', 'risk')
    group by interactions.person_id, item_features.feature

),

features as (

    select person_id, 'age_band:' || age_band as feature, 1.0 as value from persons where age_band is not null
    union all
    select person_id, 'city_tier:' || city_tier, 1.0 from persons where city_tier is not null
    union all
    select person_id, 'city:' || city, 1.0 from persons where city is not null
    union all
    select person_id, 'segment:' || segment_id, 1.0 from persons
    union all
    select distinct person_id, 'account:' || account_source, 1.0 from identity
    union all
    select person_id, feature, weight / sum(weight) over (partition by person_id, family)
    from derived_weights

),

final as (

    -- rounded for run-to-run stability (parallel float sums), as in ml_interactions
    select person_id::varchar as person_id, feature::varchar as feature,
        {{ round_significant('value') }}::float8 as value
    from features

)

select * from final
