{#- Incremental intermediate models (int_interactions_unified, int_recommendation_outcomes): a
    daily run recomputes what its inputs changed, and gives the table a full refresh gives
    (tests/dbt/test_incremental.py).

    Each row records the version of the inputs it was computed from: _loaded_at (with
    _delivery_date and source, the staged partition of an interaction) or _inputs_version (a
    digest of everything a recommended_date's rows are built from). A run recomputes the rows
    whose inputs have a version the table does not hold, delete+insert writes them, and a
    post-hook deletes the rows whose version no longer exists (their inputs are gone).

    Why is_incremental() and not the microbatch strategy (dbt-duckdb 1.11.1 has it): microbatch
    replaces only the last `lookback` batches of event_time before the wall clock, by time alone
    (dbt-duckdb rejects a unique_key with it). A day re-delivered later than that, or an account
    linked to another person (its whole history changes), would be missed, and the batches
    would follow the clock instead of run_date.
    Changing one of these models, or var event_weights, needs a run with full_refresh. -#}

{#- The staged partition versions (staged_source, staged_date, staged_loaded_at) of the events
    and partner interactions int_interactions_unified is built from. -#}
{% macro staged_interaction_versions() -%}
    select distinct 'platform' as staged_source, _delivery_date as staged_date, _loaded_at as staged_loaded_at
    from {{ ref('stg_platform__events') }}
    union
    select distinct partner, _delivery_date, _loaded_at
    from {{ ref('stg_partners__interactions') }}
{%- endmacro %}

{#- Post-hook of int_interactions_unified: delete the rows whose staged partition version is gone
    (re-delivered, expired or left-out days) and the rows whose account no longer resolves to
    their person. The run rewrote every such key that still has a row to give, so what is left
    is an event no longer staged or an account no longer resolved. -#}
{% macro drop_unbacked_interactions() -%}
    delete from {{ this }}
    where not exists (
            select 1 from ({{ staged_interaction_versions() }}) as staged
            where staged.staged_source = source
              and staged.staged_date = _delivery_date
              and staged.staged_loaded_at is not distinct from _loaded_at
        )
        or not exists (
            select 1 from (
                select account_source as resolved_source, account_id as resolved_account_id,
                       person_id as resolved_person_id
                from {{ ref('int_identity') }}
            ) as resolved
            where resolved.resolved_source = source
              and resolved.resolved_account_id = account_id
              and resolved.resolved_person_id = person_id
        )
{%- endmacro %}

{#- partner_to_platform recommendations delivered before run_date: a published partition reaches
    the partners after its run, so it is "delivered" from the next run_date on, and every build
    for a given run_date sees the same recommendations, re-runs included. -#}
{% macro delivered_recommendations() -%}
    {%- set published = source('outputs', 'cross_recommendations') -%}
    {%- if execute and load_relation(published) is none -%}
    -- nothing published yet (the first run): no recommendation has been delivered
    select null::date as run_date, null::varchar as partner, null::varchar as recipient_id,
           null::varchar as item_id, null::varchar as model_version, null::varchar as variant,
           null::integer as rank, null::timestamp as generated_at
    where false
    {%- else -%}
    select run_date, partner, recipient_id, item_id, model_version, variant, rank, generated_at
    from {{ published }}
    where direction = 'partner_to_platform'
      and run_date < {{ run_date() }}
    {%- endif -%}
{%- endmacro %}

{#- (recommended_date, _inputs_version) of every date int_recommendation_outcomes has rows for.
    A date's rows come from its delivered partition (versioned by its row count and generated_at:
    publishing replaces a partition, erasure only deletes) and its staged outcomes (versioned by
    the staged partitions they come from and their row counts: new, re-delivered, expired and
    erased outcomes all change them). -#}
{% macro recommendation_input_versions() -%}
    select
        coalesce(delivered_versions.recommended_date, outcome_versions.recommended_date) as recommended_date,
        md5(concat_ws(' / ', delivered_versions.delivered_version, outcome_versions.outcomes_version)) as _inputs_version
    from (
        select
            run_date as recommended_date,
            concat_ws(' ', 'delivered', count(*), min(generated_at), max(generated_at)) as delivered_version
        from ({{ delivered_recommendations() }}) as delivered
        group by run_date
    ) as delivered_versions
    full outer join (
        select
            recommended_date,
            string_agg(concat_ws(' ', partner, _delivery_date, _loaded_at, outcome_rows), ', '
                order by partner, _delivery_date) as outcomes_version
        from (
            select recommended_date, partner, _delivery_date, _loaded_at, count(*) as outcome_rows
            from {{ ref('stg_partners__outcomes') }}
            group by recommended_date, partner, _delivery_date, _loaded_at
        ) as outcome_partitions
        group by recommended_date
    ) as outcome_versions
        on delivered_versions.recommended_date = outcome_versions.recommended_date
{%- endmacro %}

{#- Post-hook of int_recommendation_outcomes: delete the dates whose inputs are gone (a
    recomputed date holds its current version). -#}
{% macro drop_dates_without_inputs() -%}
    delete from {{ this }}
    where not exists (
        select 1 from (
            select recommended_date as input_date, _inputs_version as input_version
            from ({{ recommendation_input_versions() }}) as input_versions
        ) as current_inputs
        where current_inputs.input_date = recommended_date
          and current_inputs.input_version = _inputs_version
    )
{%- endmacro %}
