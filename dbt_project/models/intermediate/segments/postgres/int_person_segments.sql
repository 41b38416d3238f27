{#- Behavioural segments on engines without dbt Python models (the postgres target): K-means in
    SQL over the same inputs as segments/duckdb/int_person_segments.py (log1p, then standardised
    monetary, event_count, recency_days, active_days, source_count) and the same relabelling
    (1..k by centroid monetary, then frequency, then recency, ascending). Lloyd's iterations are
    unrolled; the start is deterministic (k distinct points spread over the spend order) instead
    of scikit-learn's seeded k-means++ restarts, so segment ids can differ from the DuckDB build's
    on the same data (README "A bigger warehouse"). -#}
{%- set features = ['monetary', 'event_count', 'recency_days', 'active_days', 'source_count'] -%}
{%- set iterations = 15 -%}
with

behaviour as (

    select
        person_id,
        {% for f in features %}ln(1 + {{ f }}::float8) as {{ f }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ ref('int_person_behaviour') }}

),

moments as (

    select
        {% for f in features %}avg({{ f }}) as {{ f }}_mean, stddev_pop({{ f }}) as {{ f }}_sd{{ ',' if not loop.last }}
        {% endfor %}
    from behaviour

),

-- StandardScaler: a constant feature keeps scale 1
scaled as (

    select
        behaviour.person_id,
        {% for f in features %}(behaviour.{{ f }} - moments.{{ f }}_mean)
            / coalesce(nullif(moments.{{ f }}_sd, 0), 1) as {{ f }}{{ ',' if not loop.last }}
        {% endfor %}
    from behaviour cross join moments

),

distinct_points as (

    select {{ features | join(', ') }}, row_number() over (order by {{ features | join(', ') }}) as position
    from (select distinct {{ features | join(', ') }} from scaled) as points

),

centroids_0 as (

    select
        {% for f in features %}{{ f }}, {% endfor %}
        row_number() over (order by position) as cluster
    from distinct_points
    cross join (select count(*) as n, least(count(*), {{ var('segment_count') }}) as k from distinct_points) as sizes
    -- the k points at the middle of k equal slices of the order
    where position in (
        select floor((slice + 0.5) * sizes.n / sizes.k)::integer + 1
        from generate_series(0, sizes.k - 1) as slices(slice)
    )

),

{% for i in range(1, iterations + 1) %}
assigned_{{ i }} as (

    select person_id, cluster from (
        select
            scaled.person_id,
            centroids.cluster,
            row_number() over (
                partition by scaled.person_id
                order by {% for f in features %}power(scaled.{{ f }} - centroids.{{ f }}, 2){{ ' + ' if not loop.last }}{% endfor %}, centroids.cluster
            ) as nearness
        from scaled cross join centroids_{{ i - 1 }} as centroids
    ) as distances
    where nearness = 1

),

centroids_{{ i }} as (

    select assigned.cluster, {% for f in features %}avg(scaled.{{ f }}) as {{ f }}{{ ',' if not loop.last }}{% endfor %}
    from assigned_{{ i }} as assigned
    inner join scaled on assigned.person_id = scaled.person_id
    group by assigned.cluster

),
{% endfor %}

relabelled as (

    select
        assigned.cluster,
        row_number() over (order by
            avg(raw.monetary), avg(raw.event_count), avg(raw.recency_days), assigned.cluster) as segment_id
    from assigned_{{ iterations }} as assigned
    inner join {{ ref('int_person_behaviour') }} as raw on assigned.person_id = raw.person_id
    group by assigned.cluster

),

final as (

    select assigned.person_id::varchar as person_id, relabelled.segment_id::integer as segment_id
    from assigned_{{ iterations }} as assigned
    inner join relabelled on assigned.cluster = relabelled.cluster

)

select * from final
