{#- The business date of the run: var('run_date') is required and must be YYYY-MM-DD.
    A run for a date sees only drops delivered on or before it, so a backfill reproduces
    the daily run. -#}
{% macro run_date() -%}
    {%- set value = var('run_date') | string -%}
    {%- if not modules.re.match('^\d{4}-\d{2}-\d{2}$', value) -%}
        {{ exceptions.raise_compiler_error("var run_date must be a date 'YYYY-MM-DD', got '" ~ value ~ "'") }}
    {%- endif -%}
    date '{{ value }}'
{%- endmacro %}

{#- The as-of filter every staging model applies to its raw rows. -#}
{% macro as_of_filter() -%}
    _delivery_date <= {{ run_date() }}
{%- endmacro %}
