{#- Recency decay, applied when a mart reads interactions (int_interactions_unified stores only
    the undecayed event_weight, so a new run_date does not rewrite its history):
    weight = event_weight * 0.5 ^ (age_days / var('decay_half_life_days')). -#}

{#- Days from `occurred_at` to the end of run_date (Asia/Shanghai local), never negative. -#}
{% macro age_days(occurred_at) -%}
    greatest(0.0, {{ epoch_seconds('(' ~ run_date() ~ " + interval '1 day')::timestamp - " ~ occurred_at) }} / 86400.0)
{%- endmacro %}

{% macro decayed_weight(event_weight, occurred_at) -%}
    ({{ event_weight }} * power(0.5, {{ age_days(occurred_at) }} / {{ var('decay_half_life_days') }}))
{%- endmacro %}

{#- `value` rounded to `digits` significant digits. Sums of floats differ in the last bits between
    parallel runs, and a rerun of a day must give the same marts: rounding absorbs that. Rounding
    to significant digits (not decimals) keeps a small positive weight positive: a pair last seen
    2.5 years ago weighs about 1e-9, which 9 decimals would round to 0. -#}
{% macro round_significant(value, digits=9) -%}
    case when ({{ value }}) = 0 then 0.0 else
        {{ round_to(value, '(' ~ (digits - 1) ~ ' - floor(log10(abs(' ~ value ~ '))))::integer') }} end
{%- endmacro %}
