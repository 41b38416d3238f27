{#- Partners built in this run: var('partners'), a list or a comma-separated string. -#}
{% macro partner_list() -%}
    {%- set value = var('partners') -%}
    {%- if value is string -%}
        {%- set value = value.split(',') | map('trim') | reject('equalto', '') | list -%}
    {%- endif -%}
    {{- return(value) -}}
{%- endmacro %}

{#- UNION ALL of one entity over every partner in partner_list(). The call block renders the
    shared per-partner select and receives (partner, relation). For an optional entity
    (fallback_columns given) a partner that has not delivered it yet contributes no rows. -#}
{% macro union_partners(entity, fallback_columns=none) -%}
    {%- set selects = [] -%}
    {%- for partner in partner_list() -%}
        {%- set relation = source(partner, entity) -%}
        {%- if fallback_columns is not none -%}
            {%- set relation = relation_or_empty(relation, fallback_columns) -%}
        {%- endif -%}
        {%- do selects.append(caller(partner, relation)) -%}
    {%- endfor -%}
    {{ selects | join('\nunion all\n') }}
{%- endmacro %}

{#- Lower-case hex SHA-256 or NULL: anything else cannot match and must not create identity links. -#}
{% macro clean_hash(column) -%}
    case when {{ regexp_full_match('lower(trim(' ~ column ~ '))', '[0-9a-f]{64}') }} then lower(trim({{ column }})) end
{%- endmacro %}

{#- Columns every partner items extract shares (CONTRACT.md <partner>/items), typed, plus
    risk_level (1..5): NULL unless the vertical delivers a risk column and passes its expression. -#}
{% macro partner_item_columns(partner, risk_level=none) -%}
    '{{ partner }}' as partner,
    {{ clean_text('item_id') }} as item_id,
    {{ clean_text('title') }} as title,
    {{ lower_snake('category') }} as category,
    {{ to_money('price') }} as price,
    {{ canonical_city('city') }} as city,
    coalesce({{ to_bool('is_active') }}, false) as is_active,
    {{ to_local_ts('updated_at') }} as updated_at,
    {% if risk_level is none %}null::integer{% else %}case when {{ risk_level }} between 1 and 5 then {{ risk_level }} end{% endif %} as risk_level,
    _delivery_date,
    _source_file,
    _source_line
{%- endmacro %}

{#- Header of every items model: as-of filtered rows of source(partner, 'items'). -#}
{% macro partner_items_source(partner) -%}
    select * from {{ source(partner, 'items') }} where {{ as_of_filter() }}
{%- endmacro %}
