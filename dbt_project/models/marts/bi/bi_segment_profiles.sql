{#- One row per segment: size, behaviour, spend and its top topics, with a readable name.
    Segment ids order segments by spend (see int_person_segments); 0 = no interactions yet. -#}
with

persons as (

    select * from {{ ref('int_persons') }}

),

behaviour as (

    select * from {{ ref('int_person_behaviour') }}

),

interactions as (

    select *, {{ decayed_weight('event_weight', 'occurred_at') }} as weight
    from {{ ref('int_interactions_unified') }}

),

topics as (

    select * from {{ ref('int_item_topics') }}

),

segment_topics as (

    select
        persons.segment_id,
        topics.topic,
        sum(interactions.weight) as weight
    from interactions
    inner join persons on interactions.person_id = persons.person_id
    inner join topics on interactions.item_key = topics.item_key
    where topics.topic is not null
    group by persons.segment_id, topics.topic

),

ranked_topics as (

    select
        *,
        row_number() over (partition by segment_id order by weight desc, topic) as topic_rank
    from segment_topics

),

top_topics as (

    select
        segment_id,
        string_agg(topic, ', ' order by weight desc, topic) as top_topics
    from ranked_topics
    where topic_rank <= 3
    group by segment_id

),

segment_stats as (

    select
        persons.segment_id,
        count(*)::integer as persons,
        count(persons.platform_user_id)::integer as platform_users,
        coalesce(sum(behaviour.monetary), 0)::decimal(18, 2) as total_spend,
        {{ round_to('coalesce(avg(behaviour.monetary), 0)', 2) }}::float8 as avg_spend,
        {{ round_to('coalesce(avg(behaviour.event_count), 0)', 1) }}::float8 as avg_events,
        {{ round_to('avg(behaviour.recency_days)', 1) }}::float8 as avg_recency_days
    from persons
    left join behaviour on persons.person_id = behaviour.person_id
    group by persons.segment_id

),

final as (

    select
        segment_stats.segment_id,
        case when segment_stats.segment_id = 0 then 'No activity yet'
            else 'Segment ' || segment_stats.segment_id
                || ': avg spend ' || segment_stats.avg_spend || ' CNY, '
                || segment_stats.avg_events || ' events, last seen ' || segment_stats.avg_recency_days
                || ' days ago' || coalesce(', into ' || top_topics.top_topics, '')
        end as segment_name,
        segment_stats.persons,
        segment_stats.platform_users,
        segment_stats.total_spend,
        segment_stats.avg_spend,
        segment_stats.avg_events,
        segment_stats.avg_recency_days,
        top_topics.top_topics
    from segment_stats
    left join top_topics on segment_stats.segment_id = top_topics.segment_id

)

select * from final
