{#- bi_feedback_daily split by rank position: how feedback falls off down the list. Delivered
    recommendations only (an unmatched outcome has no rank). -#}
with

recommendation_outcomes as (

    select * from {{ ref('int_recommendation_outcomes') }}
    where is_delivered

),

final as (

    select
        recommended_date,
        partner,
        direction,
        model_version,
        variant,
        rank,
        {{ feedback_measures() }}
    from recommendation_outcomes
    group by recommended_date, partner, direction, model_version, variant, rank

)

select * from final
