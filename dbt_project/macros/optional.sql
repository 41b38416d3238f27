{#- Optional contract columns and entities (CONTRACT.md v2): a drop that does not carry them is
    still valid, so a model reads them only when raw has them and otherwise gets NULLs / no rows. -#}

{#- The column, or NULL::varchar when the relation does not have it (older drops). -#}
{% macro column_or_null(relation, column) -%}
    {%- set present = [] -%}
    {%- if execute -%}
        {%- set present = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- endif -%}
    {%- if column | lower in present -%}{{ column }}{%- else -%}null::varchar{%- endif -%}
{%- endmacro %}

{#- The relation, or an empty one with ``columns`` plus the load columns when it was never delivered. -#}
{% macro relation_or_empty(relation, columns) -%}
    {%- if execute and load_relation(relation) is none -%}
        (select {% for column in columns %}null::varchar as {{ column }}, {% endfor -%}
         null::date as _delivery_date, null::varchar as _source_file, null::bigint as _source_line
         where false) as never_delivered
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}
