{#- Partner feedback per delivery date, partner, model version and A/B variant: funnel counts,
    CTR and conversion rate per shown recommendation with 95% Wilson intervals. Outcomes that
    match no delivered recommendation form their own rows (variant 'unmatched'). -#}
with

recommendation_outcomes as (

    select * from {{ ref('int_recommendation_outcomes') }}

),

final as (

    select
        recommended_date,
        partner,
        direction,
        model_version,
        variant,
        {{ feedback_measures() }}
    from recommendation_outcomes
    group by recommended_date, partner, direction, model_version, variant

)

select * from final
