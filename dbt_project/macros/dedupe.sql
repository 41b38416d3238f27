{#- Entities (users, customers, courses, items): for one id the row with the latest updated_at
    wins; ties go to the latest delivery, then the highest line in the file. -#}
{% macro latest_per(keys) -%}
    qualify row_number() over (
        partition by {{ keys | join(', ') }}
        order by updated_at desc nulls last, _delivery_date desc, _source_line desc
    ) = 1
{%- endmacro %}

{#- Events and interactions: the first delivery of an id wins; a re-sent id is a duplicate. -#}
{% macro first_delivery_per(keys) -%}
    qualify row_number() over (
        partition by {{ keys | join(', ') }}
        order by _delivery_date, _source_line
    ) = 1
{%- endmacro %}
