{#- Call blocks around a select: its rows deduplicated (engine-specific: macros/engine.sql dedupe). -#}

{#- Entities (users, customers, courses, items): for one id the row with the latest updated_at
    wins; ties go to the latest delivery, then the highest line in the file. -#}
{% macro latest_per(keys) -%}
    {{ dedupe(keys, 'updated_at desc nulls last, _delivery_date desc, _source_line desc', caller()) }}
{%- endmacro %}

{#- Events and interactions: the first delivery of an id wins; a re-sent id is a duplicate. -#}
{% macro first_delivery_per(keys) -%}
    {{ dedupe(keys, '_delivery_date, _source_line', caller()) }}
{%- endmacro %}
