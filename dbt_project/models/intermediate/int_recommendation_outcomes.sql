{#- The feedback loop's unit: one row per recommendation a partner reported on or received.
    Delivered partner_to_platform recommendations (published before run_date) are matched to the
    partners' outcomes on (partner, customer, course, delivery date). Outcomes that match no
    delivered recommendation are kept as rows with is_delivered = false so they are counted,
    never silently dropped.

    Incremental by recommended_date (macros/incremental_intermediate.sql): a date's rows depend
    only on its delivered partition and the outcomes reported for it, digested in
    _inputs_version. A run recomputes the dates whose digest the table does not hold (the
    partition published by the previous run, dates with new, re-delivered or erased outcomes, a
    re-published partition); delete+insert on recommended_date replaces them, the post-hook
    deletes dates left without inputs. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    unique_key='recommended_date',
    post_hook="{{ drop_dates_without_inputs() }}",
) }}
{%- set incremental = incremental_with('_inputs_version') %}
with

delivered as (

    {{ delivered_recommendations() }}

),

outcomes as (

    select * from {{ ref('stg_partners__outcomes') }}

),

input_versions as (

    {{ recommendation_input_versions() }}

),

-- the dates this run computes: all of them in a full build
dates_to_compute as (

    select * from input_versions
    {% if incremental %}
    where not exists (
        select 1 from {{ this }} as held
        where held.recommended_date = input_versions.recommended_date
          and held._inputs_version = input_versions._inputs_version
    )
    {% endif %}

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
    where recommended_date in (select recommended_date from dates_to_compute)
    group by partner, customer_id, item_id, recommended_date

),

delivered_to_compute as (

    select * from delivered
    where run_date in (select recommended_date from dates_to_compute)

),

matched as (

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
    from delivered_to_compute as delivered
    full outer join reported
        on delivered.partner = reported.partner
        and delivered.recipient_id = reported.recipient_id
        and delivered.item_id = reported.item_id
        and delivered.run_date = reported.recommended_date

),

final as (

    select matched.*, dates_to_compute._inputs_version
    from matched
    inner join dates_to_compute on matched.recommended_date = dates_to_compute.recommended_date

)

select * from final
