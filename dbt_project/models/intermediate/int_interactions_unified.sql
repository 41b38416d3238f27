{#- Platform events and partner interactions in one event stream keyed by person and item_key.
    event_weight = var('event_weights')[event_type], undecayed: marts decay it to their run_date
    when they read it (macros/decay.sql), so no row here depends on the run_date. Events of
    unknown accounts, unknown types or without a time cannot be weighted and are left out.

    Incremental (macros/incremental_intermediate.sql): a row is a function of its staged event,
    versioned by its partition (source, _delivery_date, _loaded_at), and of its account's person
    in int_identity. A run recomputes the events of partition versions the table does not hold
    (the new day, late and re-delivered days), the keys it holds in versions staging no longer
    has (a re-delivered day that moved or dropped them) and every event of an account resolved
    to another person or without rows yet (newly linked or newly resolved); delete+insert on
    interaction_key writes them, the post-hook deletes what no longer has a staged event or a
    person. xrec.privacy.erasure deletes an erased person's rows here as everywhere. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    unique_key='interaction_key',
    post_hook="{{ drop_unbacked_interactions() }}",
) }}
{%- set incremental = incremental_with('_loaded_at') %}
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
        _delivery_date,
        _loaded_at
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
        _delivery_date,
        _loaded_at
    from partner_interactions

),

{% if incremental %}
-- the partition versions the table was built from, and the person of each account it holds
held_versions as (

    select distinct source, _delivery_date, _loaded_at from {{ this }}

),

held_accounts as (

    select distinct source, account_id, person_id from {{ this }}

),

-- keys held in a partition version staging no longer has
stale_keys as (

    select interaction_key
    from {{ this }} as held
    where not exists (
        select 1 from ({{ staged_interaction_versions() }}) as staged
        where staged.staged_source = held.source
          and staged.staged_date = held._delivery_date
          and staged.staged_loaded_at is not distinct from held._loaded_at
    )

),

-- accounts resolved to another person than the table holds, or without rows in it yet
changed_accounts as (

    select identity.account_source, identity.account_id
    from identity
    left join held_accounts
        on identity.account_source = held_accounts.source
        and identity.account_id = held_accounts.account_id
    where held_accounts.person_id is distinct from identity.person_id

),
{% endif %}

-- the events this run computes: all of them in a full build
to_compute as (

    select * from events
    {% if incremental %}
    where not exists (
            select 1 from held_versions
            where held_versions.source = events.source
              and held_versions._delivery_date = events._delivery_date
              and held_versions._loaded_at is not distinct from events._loaded_at
        )
        or exists (
            select 1 from changed_accounts
            where changed_accounts.account_source = events.source
              and changed_accounts.account_id = events.account_id
        )
        or events.interaction_key in (select interaction_key from stale_keys)
    {% endif %}

),

weighted as (

    select
        to_compute.*,
        identity.person_id,
        to_compute.source || ':' || to_compute.item_id as item_key,
        case to_compute.event_type
            {% for event_type, weight in var('event_weights').items() %}
            when '{{ event_type }}' then {{ weight }}::float8
            {% endfor %}
        end as event_weight
    from to_compute
    inner join identity
        on to_compute.source = identity.account_source
        and to_compute.account_id = identity.account_id
    where to_compute.occurred_at is not null

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
        _loaded_at,
        event_weight
    from weighted
    where event_weight is not null

)

select * from final
