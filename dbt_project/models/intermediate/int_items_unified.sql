{#- Platform courses and every partner's items in one item space: item_key = '<source>:<item_id>'. -#}
with

courses as (

    select * from {{ ref('stg_platform__courses') }}

),

{% for partner in partner_list() %}
{{ partner }}_items as (

    select * from {{ ref('stg_' ~ partner ~ '__items') }}

),
{% endfor %}

unioned as (

    select
        'platform' as source,
        course_id as item_id,
        title,
        category,
        price,
        null::varchar as city,
        null::integer as risk_level,
        is_active,
        updated_at
    from courses
    {% for partner in partner_list() %}
    union all
    select
        partner as source,
        item_id,
        title,
        category,
        price,
        city,
        risk_level,
        is_active,
        updated_at
    from {{ partner }}_items
    {% endfor %}

),

final as (

    select source || ':' || item_id as item_key, *
    from unioned

)

select * from final
