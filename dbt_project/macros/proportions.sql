{#- Confidence intervals for proportions, shared by the feedback marts. z = 1.96 (95%). -#}

{#- Wilson score interval for `successes` out of `trials`: stays inside [0, 1] and behaves for
    small counts and rates near 0 (where the normal interval does not). NULL when trials = 0.
    The bound always lies on its side of the observed rate; least/greatest only absorb float
    rounding at rates of exactly 0 or 1. -#}
{% macro wilson_bound(successes, trials, sign, z=1.96) -%}
    case when ({{ trials }}) > 0 then {{ 'least' if sign == '-' else 'greatest' }}(
        ({{ successes }})::float8 / ({{ trials }}),
        (
            ({{ successes }})::float8 / ({{ trials }}) + {{ z }} ^ 2 / (2.0 * ({{ trials }}))
            {{ sign }} {{ z }} * sqrt(
                ({{ successes }})::float8 / ({{ trials }}) * (1 - ({{ successes }})::float8 / ({{ trials }})) / ({{ trials }})
                + {{ z }} ^ 2 / (4.0 * ({{ trials }}) ^ 2)
            )
        ) / (1 + {{ z }} ^ 2 / ({{ trials }}))
    ) end
{%- endmacro %}

{#- Normal-approximation standard error of p1 - p2 for two independent proportions. -#}
{% macro diff_standard_error(p1, n1, p2, n2) -%}
    case when ({{ n1 }}) > 0 and ({{ n2 }}) > 0 then
        sqrt(({{ p1 }}) * (1 - ({{ p1 }})) / ({{ n1 }}) + ({{ p2 }}) * (1 - ({{ p2 }})) / ({{ n2 }}))
    end
{%- endmacro %}

{#- Funnel measures of a group of rows of int_recommendation_outcomes: counts, CTR and
    conversion rate per shown recommendation, each with its 95% Wilson interval. -#}
{% macro feedback_measures() -%}
    {{ count_if('is_delivered') }}::integer as recommendations_delivered,
    count(distinct recipient_id) filter (where is_delivered)::integer as recipients,
    sum(outcome_events)::integer as outcome_events,
    {{ count_if('was_shown') }}::integer as impressions,
    {{ count_if('was_clicked') }}::integer as clicks,
    {{ count_if('was_converted') }}::integer as conversions,
    {%- set shown, clicked, converted = count_if('was_shown'), count_if('was_clicked'), count_if('was_converted') %}
    {{ clicked }}::float8 / nullif({{ shown }}, 0) as ctr,
    {{ wilson_bound(clicked, shown, '-') }} as ctr_ci_low,
    {{ wilson_bound(clicked, shown, '+') }} as ctr_ci_high,
    {{ converted }}::float8 / nullif({{ shown }}, 0) as conversion_rate,
    {{ wilson_bound(converted, shown, '-') }} as conversion_rate_ci_low,
    {{ wilson_bound(converted, shown, '+') }} as conversion_rate_ci_high
{%- endmacro %}
