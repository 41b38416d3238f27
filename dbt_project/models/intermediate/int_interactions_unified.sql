{#- Platform events and partner interactions in one event stream keyed by person and item_key.
    event_weight = var('event_weights')[event_type], undecayed: marts decay it to their run_date
    when they read it (macros/decay.sql), so no row here depends on the run_date. Events of
    unknown accounts, unknown types or without a time cannot be weighted and are left out. -#}
with

platform_events as (

    select * from {{ ref('stg_platform__events') }}

),

partner_interactions as (

    select * from {{ ref('stg_partners__interactions') }}

),

identity as (

    select * from {{ ref('int_identity') }}

),

events as (

    select
        'platform:' || event_id as interaction_key,
        'platform' as source,
        user_id as account_id,
        course_id as item_id,
        event_type,
        rating,
        amount,
        occurred_at,
        _delivery_date
    from platform_events
    union all
    select
        partner || ':' || interaction_id as interaction_key,
        partner as source,
        customer_id as account_id,
        item_id,
        event_type,
        null::integer as rating,
        amount,
        occurred_at,
        _delivery_date
    from partner_interactions

),

weighted as (

    select
        events.*,
        identity.person_id,
        events.source || ':' || events.item_id as item_key,
        case events.event_type
            {% for event_type, weight in var('event_weights').items() %}
            when '{{ event_type }}' then {{ weight }}::float8
            {% endfor %}
        end as event_weight
    from events
    inner join identity
        on events.source = identity.account_source
        and events.account_id = identity.account_id
    where events.occurred_at is not null

),

final as (

    select
        interaction_key,
        person_id,
        item_key,
        source,
        item_id,
        account_id,
        event_type,
        rating,
        amount,
        occurred_at,
        _delivery_date,
        event_weight
    from weighted
    where event_weight is not null

)

select * from final
