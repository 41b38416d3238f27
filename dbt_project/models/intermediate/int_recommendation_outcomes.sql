{#- The feedback loop's unit: one row per recommendation a partner reported on or received.
    Delivered partner_to_platform recommendations (published before run_date) are matched to the
    partners' outcomes on (partner, customer, course, delivery date). Outcomes that match no
    delivered recommendation are kept as rows with is_delivered = false so they are counted,
    never silently dropped. -#}
{%- set published = source('outputs', 'cross_recommendations') -%}
with

delivered as (

    {% if execute and load_relation(published) is none -%}
    -- nothing published yet (the first run): no recommendation has been delivered
    select null::date as run_date, null::varchar as partner, null::varchar as recipient_id,
           null::varchar as item_id, null::varchar as model_version, null::varchar as variant,
           null::integer as rank
    where false
    {%- else -%}
    -- a partition reaches the partners after its run: it is "delivered" from the next run_date on,
    -- so every build for a given run_date sees the same recommendations, re-runs included
    select run_date, partner, recipient_id, item_id, model_version, variant, rank
    from {{ published }}
    where direction = 'partner_to_platform'
      and run_date < {{ run_date() }}
    {%- endif %}

),

outcomes as (

    select * from {{ ref('stg_partners__outcomes') }}

),

-- one row per reported (partner, customer, course, recommended date), whatever was reported
reported as (

    select
        partner,
        customer_id as recipient_id,
        item_id,
        recommended_date,
        count(*)::integer as outcome_events,
        {{ count_if("event_type = 'impression'") }}::integer as impression_events,
        {{ count_if("event_type = 'click'") }}::integer as click_events,
        {{ count_if("event_type = 'conversion'") }}::integer as conversion_events,
        min(occurred_at) as first_outcome_at,
        max(_delivery_date) as last_delivery_date
    from outcomes
    group by partner, customer_id, item_id, recommended_date

),

final as (

    select
        coalesce(delivered.run_date, reported.recommended_date) as recommended_date,
        coalesce(delivered.partner, reported.partner) as partner,
        'partner_to_platform' as direction,
        coalesce(delivered.recipient_id, reported.recipient_id) as recipient_id,
        coalesce(delivered.item_id, reported.item_id) as item_id,
        delivered.model_version,
        coalesce(delivered.variant, 'unmatched') as variant,
        delivered.rank,
        delivered.run_date is not null as is_delivered,
        coalesce(reported.outcome_events, 0) as outcome_events,
        coalesce(reported.impression_events, 0) as impression_events,
        coalesce(reported.click_events, 0) as click_events,
        coalesce(reported.conversion_events, 0) as conversion_events,
        -- a click or conversion implies the course was shown, so rates stay proportions in [0, 1]
        coalesce(reported.outcome_events, 0) > 0 as was_shown,
        coalesce(reported.click_events, 0) > 0 as was_clicked,
        coalesce(reported.conversion_events, 0) > 0 as was_converted,
        reported.first_outcome_at,
        reported.last_delivery_date
    from delivered
    full outer join reported
        on delivered.partner = reported.partner
        and delivered.recipient_id = reported.recipient_id
        and delivered.item_id = reported.item_id
        and delivered.run_date = reported.recommended_date

)

select * from final
