{#- Column-level cleaning rules shared by every staging model. Raw columns arrive as VARCHAR
    exactly as delivered; these macros are the only place their typing rules live. -#}

{#- Empty or blank text means "not delivered". -#}
{% macro clean_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{#- Lower snake case for codes (categories, tags, event types): 'Interior Design' -> 'interior_design'. -#}
{% macro lower_snake(column) -%}
    nullif(trim(regexp_replace(lower(trim({{ column }})), '[^a-z0-9一-鿿]+', '_', 'g'), '_'), '')
{%- endmacro %}

{#- '|'-separated tags -> list of lower_snake tags, blanks dropped. -#}
{% macro tag_list(column) -%}
    {{ split_list(column, '|', lower_snake('t')) }}
{%- endmacro %}

{#- CNY amounts: DECIMAL(18,2); unparseable -> NULL (ingest already quarantines bad types). -#}
{% macro to_money(column) -%}
    {{ try_cast(clean_text(column), 'decimal(18, 2)') }}
{%- endmacro %}

{% macro to_int(column) -%}
    {{ try_cast(try_cast(clean_text(column), 'float8'), 'integer') }}
{%- endmacro %}

{#- true/1/yes/y/t and false/0/no/n/f, case-insensitive; anything else -> NULL. -#}
{% macro to_bool(column) -%}
    case
        when lower(trim({{ column }})) in ('true', '1', 'yes', 'y', 't') then true
        when lower(trim({{ column }})) in ('false', '0', 'no', 'n', 'f') then false
    end
{%- endmacro %}

{#- Timestamps are stored as TIMESTAMP in Asia/Shanghai local time (the contract's default
    zone), so a value without offset is kept as is and a value with an offset (Z, +08:00, -0500)
    is converted to Shanghai wall-clock time. Unparseable -> NULL. -#}
{% macro to_local_ts(column) -%}
    case
        when {{ regexp_contains('trim(' ~ column ~ ')', '[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$') }}
            then timezone('Asia/Shanghai', {{ try_cast('trim(' ~ column ~ ')', 'timestamptz') }})
        else {{ try_cast(clean_text(column), 'timestamp') }}
    end
{%- endmacro %}

{#- Normalisation key for a city name: lower case, no whitespace/apostrophes/dots/hyphens,
    no trailing 市 ('city'): ' Xi''an ' -> 'xian', '上海市' -> '上海'. -#}
{% macro city_key(column) -%}
    regexp_replace(lower(regexp_replace(trim({{ column }}), '[\s''’·.\-]+', '', 'g')), '市$', '')
{%- endmacro %}

{#- Canonical city (seeds/cities.csv `city`) matched on its pinyin or Chinese name;
    a city not in the seed -> NULL (documented fill rule). -#}
{% macro canonical_city(column) -%}
    (
        -- seed columns renamed so that `column` can only resolve to the outer row
        select {{ any_value('seed.canonical_city') }}
        from (select city as canonical_city, name_zh as canonical_name_zh from {{ ref('cities') }}) as seed
        where {{ city_key(column) }} in ({{ city_key('seed.canonical_city') }}, {{ city_key('seed.canonical_name_zh') }})
    )
{%- endmacro %}

{#- Birth years outside [1900, run year] are data errors -> NULL. -#}
{% macro to_birth_year(column) -%}
    case
        when {{ to_int(column) }} between 1900 and extract(year from {{ run_date() }})::integer then {{ to_int(column) }}
    end
{%- endmacro %}
