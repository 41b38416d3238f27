{#- Custom schemas are used verbatim (staging, intermediate, marts), not prefixed with the
    target schema, so every consumer reads e.g. marts.ml_items whatever the target. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
