{#- LightFM item features, long form (item_key, feature, value), all with value 1:
    source:<source>, category:<category>, topic:<topic>, price_band:<band>, risk:<1..5> (finance),
    city_tier:<n> and city:<city> (realty listings with a known city), and the facets a person's taste
    carries across sources: style:<style> (home items; interior-design courses tagged with a
    home style), brand:<brand> (automod items; car-culture courses tagged with a car brand) and
    risk:<1..5> also for courses tagged with a risk grade R1..R5 (investment courses). -#}
with

items as (

    select * from {{ ref('ml_items') }}

),

cities as (

    select * from {{ ref('cities') }}

),

courses as (

    select * from {{ ref('stg_platform__courses') }}

),

{#- Vertical columns that are facets, (partner: column), of the partners built in this run only:
    a partner left out (not configured, or its raw gate failed) must not be a parent of this
    model, or dbt_build's exclusion of it would leave these features unbuilt. -#}
{%- set facet_columns = {'home': 'style', 'automod': 'brand'} -%}
{%- set facet_partners = partner_list() | select('in', facet_columns) | list %}
partner_facets as (

    {% for partner in facet_partners -%}
    select '{{ partner }}:' || item_id as item_key, '{{ facet_columns[partner] }}' as facet,
        {{ lower_snake(facet_columns[partner]) }} as value
    from {{ ref('stg_' ~ partner ~ '__items') }}
    union all
    {% endfor -%}
    select null::varchar as item_key, null::varchar as facet, null::varchar as value where false

),

facet_values as (

    select distinct facet, value from partner_facets where value is not null

),

course_tags as (

    select course_id, unnest(tags) as tag from courses

),

course_facets as (

    {#- a course tag equal to a partner's facet value is that facet of the course -#}
    select distinct 'platform:' || course_tags.course_id as item_key, facet_values.facet, facet_values.value
    from course_tags
    inner join facet_values on course_tags.tag = facet_values.value

),

course_risk as (

    {#- a course's risk grade tag R1..R5 (lower-snaked to r1..r5) is its risk level, as a finance item's -#}
    select distinct 'platform:' || course_id as item_key, 'risk' as facet, substr(tag, 2) as value
    from course_tags
    where {{ regexp_full_match('tag', 'r[1-5]') }}

),

facets as (

    select item_key, facet, value from partner_facets where value is not null
    union all
    select item_key, facet, value from course_facets
    union all
    select item_key, facet, value from course_risk

),

features as (

    select item_key, 'source:' || source as feature from items
    union all
    select item_key, 'category:' || category from items where category is not null
    union all
    select item_key, 'topic:' || topic from items where topic is not null
    union all
    select item_key, 'price_band:' || price_band from items where price_band is not null
    union all
    select item_key, 'risk:' || risk_level from items where risk_level is not null
    union all
    -- only a listing's city is where its buyer lives; another item's city is a seller's address,
    -- and sharing city:<city> with it would blur the person-city to listing-city match
    select items.item_key, 'city_tier:' || cities.city_tier
    from items inner join cities on items.city = cities.city
    where items.source = 'realty'
    union all
    select item_key, 'city:' || city from items where city is not null and source = 'realty'
    union all
    select items.item_key, facets.facet || ':' || facets.value
    from items inner join facets on items.item_key = facets.item_key

),

final as (

    select item_key::varchar as item_key, feature::varchar as feature, 1.0::float8 as value
    from features

)

select * from final
