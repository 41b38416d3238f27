{#- Generic test: every row satisfies `expression` (no dbt_utils: the build runs offline). -#}
{% test expression_is_true(model, expression, column_name=none) %}
    select * from {{ model }} where not ({{ expression }})
{% endtest %}
