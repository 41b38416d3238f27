{#- Append-only facts (platform events, partner interactions and outcomes) are incremental
    staging models: a run rebuilds only what the deliveries it sees changed, and gives the same
    table as a full refresh (tests/dbt/test_incremental.py).

    A delivery partition is (source, _delivery_date) as of run_date; its version is the time
    xrec.ingest loaded it (raw.load_audit.loaded_at, NULL when raw was written without ingest),
    kept on every staged row as _loaded_at. A partition is new or re-delivered when the table
    has no row of that version; a staged row is stale when its partition is gone (retention,
    a run for an earlier date, a partner left out) or was re-delivered.

    Rows are deduplicated by key with the first delivery winning, across days: the keys to
    recompute are those of the new/re-delivered partitions and of the stale rows, and each is
    recomputed from all its raw rows (so a re-sent id stays a duplicate, and an id whose first
    delivery is gone falls back to its next one). delete+insert on the key writes them; the
    post-hook drop_stale_deliveries deletes stale rows whose key has no delivery left.
    Changing one of these models needs a run with full_refresh. -#}

{#- is_incremental() on a table that already has `column`, the version the run compares: a table
    built before the column existed is rebuilt whole (on_schema_change adds the column). -#}
{% macro incremental_with(column) -%}
    {{- return(is_incremental() and column in (adapter.get_columns_in_relation(this) | map(attribute='name') | list)) -}}
{%- endmacro %}

{#- (source, _delivery_date, _loaded_at) of every partition of `relation` as of run_date. -#}
{% macro delivery_partitions(source_name, entity, relation) -%}
    {%- set audit = adapter.get_relation(database=relation.database or target.database, schema='raw', identifier='load_audit') if execute else none -%}
    select
        '{{ source_name }}' as partition_source,
        raw_partitions._delivery_date as partition_date,
        {% if audit is none -%} null::timestamp {%- else -%} audit.loaded_at {%- endif %} as partition_loaded_at
    from (select distinct _delivery_date from {{ relation }} where {{ as_of_filter() }}) as raw_partitions
    {% if audit is not none -%}
    left join (
        select delivery_date, max(loaded_at) as loaded_at
        from {{ audit }}
        where source = '{{ source_name }}' and entity = '{{ entity }}'
        group by delivery_date
    ) as audit on raw_partitions._delivery_date = audit.delivery_date
    {%- endif %}
{%- endmacro %}

{#- UNION ALL of delivery_partitions over the platform (source_name) or every partner. -#}
{% macro partitions_of(entity, source_name=none, optional=false) -%}
    {%- set selects = [] -%}
    {%- for name in ([source_name] if source_name else partner_list()) -%}
        {%- set relation = source(name, entity) -%}
        {%- if not optional or not execute or load_relation(relation) is not none -%}
            {%- do selects.append(delivery_partitions(name, entity, relation)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if selects -%}
        {{ selects | join('\nunion all\n') }}
    {%- else -%}
        select null::varchar as partition_source, null::date as partition_date,
               null::timestamp as partition_loaded_at where false
    {%- endif -%}
{%- endmacro %}

{#- `source_column` of a row (a column name, or a quoted literal for a one-source model). -#}
{% macro _row_source(source_column, row) -%}
    {{ source_column if source_column.startswith("'") else row ~ source_column }}
{%- endmacro %}

{#- Is the row (`source_column`, _delivery_date, _loaded_at) of the current version of a partition? -#}
{% macro in_current_partition(partitions, source_column, row='') -%}
    exists (
        select 1 from ({{ partitions }}) as current_partitions
        where current_partitions.partition_source = {{ _row_source(source_column, row) }}
          and current_partitions.partition_date = {{ row }}_delivery_date
          and current_partitions.partition_loaded_at is not distinct from {{ row }}_loaded_at
    )
{%- endmacro %}

{#- Filter on the staged rows `rows` (a CTE with `keys`, _delivery_date, _loaded_at) keeping,
    in an incremental run, only the keys to recompute; nothing in a full build. -#}
{% macro keys_to_recompute(rows, keys, partitions, source_column) -%}
    {%- if incremental_with('_loaded_at') -%}
    and ({{ keys | join(', ') }}) in (
        -- keys delivered in a partition version the table does not hold yet
        select {{ keys | join(', ') }} from {{ rows }} as delivered
        where not exists (
            select 1 from (select distinct {{ source_column }} as partition_source, _delivery_date, _loaded_at from {{ this }}) as held_versions
            where held_versions.partition_source = {{ _row_source(source_column, 'delivered.') }}
              and held_versions._delivery_date = delivered._delivery_date
              and held_versions._loaded_at is not distinct from delivered._loaded_at
        )
        union
        -- keys of rows whose partition version is gone
        select {{ keys | join(', ') }} from {{ this }} as held
        where not {{ in_current_partition(partitions, source_column, 'held.') }}
    )
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: delete the rows whose partition version is gone (their key has no delivery left,
    or delete+insert would have replaced them). -#}
{% macro drop_stale_deliveries(partitions, source_column) -%}
    delete from {{ this }} where not {{ in_current_partition(partitions, source_column) }}
{%- endmacro %}
