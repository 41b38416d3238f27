{#- The SQL that differs between warehouse engines, one adapter.dispatch macro per construct:
    duckdb__ (the local target), postgres__ (the bigger-warehouse target) and, where standard SQL
    does it, default__. Models use only these macros and portable SQL, so moving the warehouse
    changes the dbt target and nothing else (README "A bigger warehouse"). -#}

{#- try_cast(value, type): NULL instead of an error when `value` does not convert. -#}
{% macro try_cast(value, type) -%}
    {{ return(adapter.dispatch('try_cast', 'xrec')(value, type)) }}
{%- endmacro %}

{% macro duckdb__try_cast(value, type) -%}
    try_cast({{ value }} as {{ type }})
{%- endmacro %}

{#- Postgres has no TRY_CAST: one PL/pgSQL function per target type (create_engine_functions). -#}
{% macro postgres__try_cast(value, type) -%}
    {{ target.schema }}.{{ _try_cast_function(type) }}({{ value }})
{%- endmacro %}

{#- The types try_cast is used with, and the name of their Postgres function. -#}
{% macro _try_cast_types() -%}
    {{ return(['decimal(18, 2)', 'float8', 'integer', 'date', 'timestamp', 'timestamptz']) }}
{%- endmacro %}

{% macro _try_cast_function(type) -%}
    {{- return('xrec_try_' ~ modules.re.sub('[^a-z0-9]+', '_', type | lower).strip('_')) -}}
{%- endmacro %}

{#- on-run-start: functions the postgres__ macros call; nothing on engines that have them built in. -#}
{% macro create_engine_functions() -%}
    {{ return(adapter.dispatch('create_engine_functions', 'xrec')()) }}
{%- endmacro %}

{% macro default__create_engine_functions() -%}
    select 1
{%- endmacro %}

{% macro postgres__create_engine_functions() -%}
    create schema if not exists {{ target.schema }};
    {% for type in _try_cast_types() %}
    create or replace function {{ target.schema }}.{{ _try_cast_function(type) }}(value anyelement)
    returns {{ type }} language plpgsql stable as $$
    begin
        return value::{{ type }};
    exception when others then
        return null;
    end $$;
    {% endfor %}
{%- endmacro %}

{#- regexp_contains(text, pattern): the pattern matches somewhere in the text. -#}
{% macro regexp_contains(text, pattern) -%}
    {{ return(adapter.dispatch('regexp_contains', 'xrec')(text, pattern)) }}
{%- endmacro %}

{% macro duckdb__regexp_contains(text, pattern) -%}
    regexp_matches({{ text }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__regexp_contains(text, pattern) -%}
    ({{ text }} ~ '{{ pattern }}')
{%- endmacro %}

{#- regexp_full_match(text, pattern): the pattern matches the whole text. -#}
{% macro regexp_full_match(text, pattern) -%}
    {{ return(adapter.dispatch('regexp_full_match', 'xrec')(text, pattern)) }}
{%- endmacro %}

{% macro duckdb__regexp_full_match(text, pattern) -%}
    regexp_full_match({{ text }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__regexp_full_match(text, pattern) -%}
    ({{ text }} ~ '^(?:{{ pattern }})$')
{%- endmacro %}

{#- split_list(text, separator, element): the parts of `text` mapped through `element` (an
    expression of the part `t`), NULLs dropped, in order; an empty list for NULL text. -#}
{% macro split_list(text, separator, element) -%}
    {{ return(adapter.dispatch('split_list', 'xrec')(text, separator, element)) }}
{%- endmacro %}

{% macro duckdb__split_list(text, separator, element) -%}
    coalesce(list_filter(list_transform(string_split({{ text }}, '{{ separator }}'), lambda t: {{ element }}),
        lambda t: t is not null), [])
{%- endmacro %}

{% macro postgres__split_list(text, separator, element) -%}
    array(
        select mapped.t from (
            select {{ element }} as t, parts.n
            from unnest(string_to_array({{ text }}, '{{ separator }}')) with ordinality as parts(t, n)
        ) as mapped
        where mapped.t is not null
        order by mapped.n
    )
{%- endmacro %}

{#- list_literal(values): a text list of the given strings (possibly empty). -#}
{% macro list_literal(values) -%}
    {{ return(adapter.dispatch('list_literal', 'xrec')(values)) }}
{%- endmacro %}

{% macro duckdb__list_literal(values) -%}
    {%- if values -%}['{{ values | join("', '") }}']{%- else -%}[]::varchar[]{%- endif -%}
{%- endmacro %}

{% macro postgres__list_literal(values) -%}
    {%- if values -%}array['{{ values | join("', '") }}']::text[]{%- else -%}'{}'::text[]{%- endif -%}
{%- endmacro %}

{% macro list_size(list) -%}
    {{ return(adapter.dispatch('list_size', 'xrec')(list)) }}
{%- endmacro %}

{% macro duckdb__list_size(list) -%}
    len({{ list }})
{%- endmacro %}

{% macro postgres__list_size(list) -%}
    cardinality({{ list }})
{%- endmacro %}

{% macro list_contains(list, value) -%}
    {{ return(adapter.dispatch('list_contains', 'xrec')(list, value)) }}
{%- endmacro %}

{% macro duckdb__list_contains(list, value) -%}
    list_contains({{ list }}, {{ value }})
{%- endmacro %}

{% macro postgres__list_contains(list, value) -%}
    ({{ value }} = any({{ list }}))
{%- endmacro %}

{#- Aggregates. any_value(value): some non-NULL value of the group. -#}
{% macro any_value(value) -%}
    {{ return(adapter.dispatch('any_value', 'xrec')(value)) }}
{%- endmacro %}

{% macro duckdb__any_value(value) -%}
    any_value({{ value }})
{%- endmacro %}

{#- Postgres 15 has no any_value; min is one (callers do not care which). -#}
{% macro postgres__any_value(value) -%}
    min({{ value }})
{%- endmacro %}

{#- arg_min(value, key): `value` of the row with the smallest `key` (keys are unique). -#}
{% macro arg_min(value, key) -%}
    {{ return(adapter.dispatch('arg_min', 'xrec')(value, key)) }}
{%- endmacro %}

{% macro duckdb__arg_min(value, key) -%}
    arg_min({{ value }}, {{ key }})
{%- endmacro %}

{% macro postgres__arg_min(value, key) -%}
    (array_agg({{ value }} order by {{ key }}))[1]
{%- endmacro %}

{#- arg_min_over(value, key, partition): arg_min as a window over `partition`. -#}
{% macro arg_min_over(value, key, partition) -%}
    {{ return(adapter.dispatch('arg_min_over', 'xrec')(value, key, partition)) }}
{%- endmacro %}

{% macro duckdb__arg_min_over(value, key, partition) -%}
    arg_min({{ value }}, {{ key }}) over (partition by {{ partition }})
{%- endmacro %}

{% macro postgres__arg_min_over(value, key, partition) -%}
    first_value({{ value }}) over (partition by {{ partition }} order by {{ key }})
{%- endmacro %}

{#- first_where(value, order_by, condition): `value` of the first row by `order_by` among the
    rows where `condition` holds. -#}
{% macro first_where(value, order_by, condition) -%}
    {{ return(adapter.dispatch('first_where', 'xrec')(value, order_by, condition)) }}
{%- endmacro %}

{% macro duckdb__first_where(value, order_by, condition) -%}
    first({{ value }} order by {{ order_by }}) filter (where {{ condition }})
{%- endmacro %}

{% macro postgres__first_where(value, order_by, condition) -%}
    (array_agg({{ value }} order by {{ order_by }}) filter (where {{ condition }}))[1]
{%- endmacro %}

{% macro count_if(condition) -%}
    {{ return(adapter.dispatch('count_if', 'xrec')(condition)) }}
{%- endmacro %}

{% macro duckdb__count_if(condition) -%}
    count_if({{ condition }})
{%- endmacro %}

{% macro default__count_if(condition) -%}
    count(*) filter (where {{ condition }})
{%- endmacro %}

{#- Numbers and time. epoch_seconds(interval): the interval's length in seconds. -#}
{% macro epoch_seconds(interval) -%}
    {{ return(adapter.dispatch('epoch_seconds', 'xrec')(interval)) }}
{%- endmacro %}

{% macro duckdb__epoch_seconds(interval) -%}
    epoch({{ interval }})
{%- endmacro %}

{% macro default__epoch_seconds(interval) -%}
    extract(epoch from {{ interval }})
{%- endmacro %}

{#- round_to(value, digits): a float rounded to `digits` decimals, halves away from zero
    (Postgres rounds only numerics that way: a float's .5 goes to the even neighbour). -#}
{% macro round_to(value, digits) -%}
    {{ return(adapter.dispatch('round_to', 'xrec')(value, digits)) }}
{%- endmacro %}

{% macro duckdb__round_to(value, digits) -%}
    round({{ value }}, {{ digits }})
{%- endmacro %}

{% macro postgres__round_to(value, digits) -%}
    round(({{ value }})::numeric, {{ digits }})::float8
{%- endmacro %}

{#- dedupe(keys, order_by, query): the rows of `query` that come first per `keys` by `order_by`. -#}
{% macro dedupe(keys, order_by, query) -%}
    {{ return(adapter.dispatch('dedupe', 'xrec')(keys, order_by, query)) }}
{%- endmacro %}

{% macro duckdb__dedupe(keys, order_by, query) -%}
    {{ query }}
    qualify row_number() over (partition by {{ keys | join(', ') }} order by {{ order_by }}) = 1
{%- endmacro %}

{% macro postgres__dedupe(keys, order_by, query) -%}
    select distinct on ({{ keys | join(', ') }}) *
    from ({{ query }}) as deduped
    order by {{ keys | join(', ') }}, {{ order_by }}
{%- endmacro %}

{#- dbt-postgres reads a column's type from information_schema.columns.data_type, which is just
    'ARRAY' for a list column (stg_platform__users.interests): unit tests then cast their NULL
    fixtures to the non-type ARRAY. The element type comes from udt_name ('_text' -> 'text[]'). -#}
{% macro postgres__get_columns_in_relation(relation) -%}
    {% call statement('get_columns_in_relation', fetch_result=True) %}
        select
            column_name,
            case when data_type = 'ARRAY' then substr(udt_name, 2) || '[]' else data_type end as data_type,
            character_maximum_length,
            numeric_precision,
            numeric_scale
        from {{ relation.information_schema('columns') }}
        where table_name = '{{ relation.identifier }}'
        {% if relation.schema %}
            and table_schema = '{{ relation.schema }}'
        {% endif %}
        order by ordinal_position
    {% endcall %}
    {{ return(sql_convert_columns_in_relation(load_result('get_columns_in_relation').table)) }}
{%- endmacro %}
