{#- The A/B read-out: per partner and over all partners ('all'), the model variant's CTR and
    conversion rate against the popularity control's, pooled over every delivery date with
    feedback up to run_date, with the absolute and relative uplift and a 95% normal-approximation
    interval for the difference of the two proportions. -#}
with

recommendation_outcomes as (

    select * from {{ ref('int_recommendation_outcomes') }}

),

counts as (

    select
        coalesce(partner, 'all') as partner,
        min(recommended_date) filter (where was_shown) as first_recommended_date,
        max(recommended_date) filter (where was_shown) as last_recommended_date,
        {{ count_if("variant = 'model'") }}::integer as model_delivered,
        {{ count_if("variant = 'control'") }}::integer as control_delivered,
        {{ count_if("variant = 'model' and was_shown") }}::integer as model_impressions,
        {{ count_if("variant = 'control' and was_shown") }}::integer as control_impressions,
        {{ count_if("variant = 'model' and was_clicked") }}::integer as model_clicks,
        {{ count_if("variant = 'control' and was_clicked") }}::integer as control_clicks,
        {{ count_if("variant = 'model' and was_converted") }}::integer as model_conversions,
        {{ count_if("variant = 'control' and was_converted") }}::integer as control_conversions,
        coalesce(sum(outcome_events) filter (where not is_delivered), 0)::integer as unmatched_outcome_events
    from recommendation_outcomes
    group by grouping sets ((partner), ())

),

-- one row per measure, so both share the same interval arithmetic
metrics as (

    select
        partner, 'ctr' as metric, first_recommended_date, last_recommended_date,
        model_delivered, control_delivered, model_impressions, control_impressions,
        model_clicks as model_successes, control_clicks as control_successes, unmatched_outcome_events
    from counts
    union all
    select
        partner, 'conversion_rate', first_recommended_date, last_recommended_date,
        model_delivered, control_delivered, model_impressions, control_impressions,
        model_conversions, control_conversions, unmatched_outcome_events
    from counts

),

rates as (

    select
        *,
        model_successes::float8 / nullif(model_impressions, 0) as model_rate,
        control_successes::float8 / nullif(control_impressions, 0) as control_rate
    from metrics

),

differences as (

    select
        *,
        model_rate - control_rate as uplift_abs,
        {{ diff_standard_error('model_rate', 'model_impressions', 'control_rate', 'control_impressions') }} as uplift_se
    from rates

),

final as (

    select
        partner,
        metric,
        first_recommended_date,
        last_recommended_date,
        model_delivered,
        control_delivered,
        model_impressions,
        control_impressions,
        model_successes,
        control_successes,
        model_rate,
        {{ wilson_bound('model_successes', 'model_impressions', '-') }} as model_rate_ci_low,
        {{ wilson_bound('model_successes', 'model_impressions', '+') }} as model_rate_ci_high,
        control_rate,
        {{ wilson_bound('control_successes', 'control_impressions', '-') }} as control_rate_ci_low,
        {{ wilson_bound('control_successes', 'control_impressions', '+') }} as control_rate_ci_high,
        uplift_abs,
        uplift_abs / nullif(control_rate, 0) as uplift_rel,
        uplift_abs - 1.96 * uplift_se as uplift_ci_low,
        uplift_abs + 1.96 * uplift_se as uplift_ci_high,
        coalesce(uplift_abs - 1.96 * uplift_se > 0 or uplift_abs + 1.96 * uplift_se < 0, false) as is_significant,
        unmatched_outcome_events
    from differences

)

select * from final
