{#- LightFM user features, long form (person_id, feature, value):
    age_band:<band>, city_tier:<n>, risk:<1..5>, segment:<id> and account:<source> with value 1;
    topic:<topic> with the person's share of decayed interaction weight on that topic (sums to 1). -#}
with

persons as (

    select * from {{ ref('int_persons') }}

),

identity as (

    select * from {{ ref('int_identity') }}

),

interactions as (

    select * from {{ ref('int_interactions_unified') }}

),

topics as (

    select * from {{ ref('int_item_topics') }}

),

topic_weights as (

    select
        interactions.person_id,
        topics.topic,
        sum(interactions.weight) as weight
    from interactions
    inner join topics on interactions.item_key = topics.item_key
    where topics.topic is not null
    group by interactions.person_id, topics.topic

),

features as (

    select person_id, 'age_band:' || age_band as feature, 1.0 as value from persons where age_band is not null
    union all
    select person_id, 'city_tier:' || city_tier, 1.0 from persons where city_tier is not null
    union all
    select person_id, 'risk:' || risk_tolerance, 1.0 from persons
    union all
    select person_id, 'segment:' || segment_id, 1.0 from persons
    union all
    select distinct person_id, 'account:' || account_source, 1.0 from identity
    union all
    select person_id, 'topic:' || topic, weight / sum(weight) over (partition by person_id)
    from topic_weights

),

final as (

    select person_id::varchar as person_id, feature::varchar as feature, value::double as value
    from features

)

select * from final
