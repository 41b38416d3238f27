"""dbt_build on the tiny raw layer: the marts a consumer reads, the partner exclusion, failures."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from xrec.config import Settings
from xrec.transform import DbtBuildFailed, _invoke, dbt_build, dbt_docs


def query(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_schemas_hold_the_documented_marts(tiny_built: Settings) -> None:
    tables = {
        (schema, name)
        for schema, name in query(tiny_built, "select table_schema, table_name from information_schema.tables")
    }
    for name in (
        "ml_persons",
        "ml_recipients",
        "ml_items",
        "ml_interactions",
        "ml_person_features",
        "ml_item_features",
        "dim_person",
        "dim_item",
        "fct_interactions",
        "bi_partner_overlap",
        "bi_segment_profiles",
        "bi_orphan_references",
    ):
        assert ("marts", name) in tables
    assert ("staging", "stg_platform__users") in tables
    assert ("intermediate", "int_identity") in tables


def test_staging_cleans_dedupes_and_respects_run_date(tiny_built: Settings) -> None:
    users = dict(query(tiny_built, "select user_id, city from staging.stg_platform__users"))
    # user 4 was delivered after run_date; ' Shanghai '/'上海市', "xi'an", unknown 'Atlantis'
    assert users == {"1": "shanghai", "2": "xian", "3": None}
    events = query(tiny_built, "select event_id, _delivery_date from staging.stg_platform__events order by 1")
    assert [e for e, _ in events] == ["E1", "E2", "E3"]  # E1 re-sent once, E4 delivered late
    assert str(events[0][1]) == "2026-03-01"  # the first delivery wins


def test_identity_resolution(tiny_built: Settings) -> None:
    persons = dict(
        query(
            tiny_built,
            "select account_source || ':' || account_id, person_id from intermediate.int_identity",
        )
    )
    assert persons["realty:R1"] == "platform:1"  # email -> user 1 beats phone -> user 3
    assert persons["finance:F1"] == "platform:1"  # phone only
    assert persons["home:H1"] == "platform:2"  # email only
    # F2 and H2 share an email, H2 and A1 a phone: one partner-only person
    assert persons["finance:F2"] == persons["home:H2"] == persons["automod:A1"] == "automod:A1"
    dupes = query(tiny_built, "select person_id from marts.dim_person group by 1 having count(*) > 1")
    assert dupes == []


def test_ml_marts_are_usable(tiny_built: Settings) -> None:
    assert query(tiny_built, "select count(*) from marts.ml_interactions where weight <= 0") == [(0,)]
    features = {
        f for (f,) in query(tiny_built, "select feature from marts.ml_person_features where person_id = 'platform:1'")
    }
    assert {"age_band:35-44", "city_tier:1", "account:realty", "account:finance"} <= features
    assert any(f.startswith("topic:") for f in features) and any(f.startswith("segment:") for f in features)
    item_features = {
        f
        for (f,) in query(
            tiny_built, "select feature from marts.ml_item_features where item_key = 'finance:finance-I1'"
        )
    }
    assert {"source:finance", "topic:real_estate_investing", "category:mortgage", "risk:4"} <= item_features
    columns = {
        c
        for (c,) in query(
            tiny_built, "select column_name from information_schema.columns where table_name = 'dim_person'"
        )
    }
    assert not {"email_sha256", "phone_sha256"} & columns


def test_excluded_partner_leaves_the_marts(tiny_raw: Settings, tiny_run_date: date) -> None:
    dbt_build(tiny_raw, tiny_run_date, sources=["platform", "realty", "home", "automod"])
    assert query(tiny_raw, "select count(*) from marts.ml_items where source = 'finance'") == [(0,)]
    assert query(tiny_raw, "select count(*) from marts.ml_recipients where recipient_source = 'finance'") == [(0,)]
    # F1 was user 1's only finance link: user 1 is still there, without a finance account
    assert query(tiny_raw, "select count(*) from marts.ml_person_features where feature = 'account:finance'") == [(0,)]
    with pytest.raises(ValueError, match="platform"):
        dbt_build(tiny_raw, tiny_run_date, sources=["realty"])


def test_excluded_facet_partners_still_rebuild_the_feature_marts(tiny_raw: Settings, tiny_run_date: date) -> None:
    # home and automod carry item facets (style, brand): when their raw gate fails, the features
    # are rebuilt without them, not left as the last build's (which still held their items)
    dbt_build(tiny_raw, tiny_run_date)
    assert query(tiny_raw, "select count(*) from marts.ml_item_features where item_key like 'home:%'") != [(0,)]
    dbt_build(tiny_raw, tiny_run_date, sources=["platform", "realty", "finance"])
    for source in ("home", "automod"):
        for table in ("ml_items", "ml_item_features"):
            column = "source" if table == "ml_items" else "split_part(item_key, ':', 1)"
            assert query(tiny_raw, f"select count(*) from marts.{table} where {column} = '{source}'") == [(0,)]
        features = f"select count(*) from marts.ml_person_features where feature = 'account:{source}'"
        assert query(tiny_raw, features) == [(0,)]
    assert query(tiny_raw, "select count(*) from marts.ml_item_features where item_key like 'realty:%'") != [(0,)]


def test_configured_subset_of_partners_builds_without_the_others_raw_tables(
    tiny_raw: Settings, tiny_run_date: date, tmp_path: Path
) -> None:
    with duckdb.connect(str(tiny_raw.warehouse)) as con:
        for (table,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' "
            "and split_part(table_name, '__', 1) not in ('platform', 'realty')"
        ).fetchall():
            con.execute(f"drop table raw.{table}")
    only_realty = Settings.isolated(tmp_path, {"XREC_PARTNERS": "realty"})
    dbt_build(only_realty, tiny_run_date)
    assert query(only_realty, "select distinct source from marts.ml_items order by 1") == [("platform",), ("realty",)]
    unknown = Settings.isolated(tmp_path, {"XREC_PARTNERS": "realty,travel"})
    with pytest.raises(ValueError, match="XREC_PARTNERS names travel, which the dbt project has no sources for"):
        dbt_build(unknown, tiny_run_date)


def test_build_failure_names_the_failing_node(tiny_raw: Settings, tiny_run_date: date) -> None:
    with duckdb.connect(str(tiny_raw.warehouse)) as con:
        con.execute("update raw.platform__events set event_type = 'teleport'")
    with pytest.raises(DbtBuildFailed, match="accepted_values_stg_platform__events_event_type"):
        dbt_build(tiny_raw, tiny_run_date)


def test_broken_ml_marts_fail_the_dbt_tests(tiny_built: Settings, tiny_run_date: date, tmp_path: Path) -> None:
    # Keys, not-null columns and the ranges the dbt tests state are dbt's rules (the GX marts
    # suites do not repeat them): a copy of the built warehouse with a duplicated person and
    # interaction, a risk tolerance of 7, a zero weight and a feature value above 1 fails
    # `dbt test`, which dbt_build runs, so the pipeline stops before the marts gate.
    settings = Settings.isolated(tmp_path)
    shutil.copy(tiny_built.warehouse, settings.warehouse)
    with duckdb.connect(str(settings.warehouse)) as con:
        for table in ("marts.ml_persons", "marts.fct_interactions", "marts.ml_interactions"):
            con.execute(f"insert into {table} select * from {table} limit 1")
        con.execute(
            "update marts.ml_persons set risk_tolerance = 7 where person_id = (select max(person_id) from marts.ml_persons)"
        )
        con.execute(
            "update marts.ml_interactions set weight = 0 where person_id = (select max(person_id) from marts.ml_interactions)"
        )
        con.execute("update marts.ml_person_features set value = 2 where feature like 'account:%'")
    run_vars = json.dumps({"run_date": tiny_run_date.isoformat()})
    select = ["--select", "ml_persons", "fct_interactions", "ml_interactions", "ml_person_features"]
    with pytest.raises(DbtBuildFailed) as caught:
        _invoke(settings, tiny_run_date, ["test", "--vars", run_vars, *select])
    message = str(caught.value)
    assert "unique_ml_persons_person_id" in message
    assert "unique_fct_interactions_interaction_key" in message
    assert "unique_combination_ml_interactions" in message
    assert "accepted_values_ml_persons_risk_tolerance" in message
    assert "expression_is_true_ml_interactions_weight" in message
    assert "expression_is_true_ml_person_features_value" in message


def test_docs_describe_every_model_and_column(tiny_built: Settings) -> None:
    index = dbt_docs(tiny_built)
    assert index.is_file()
    manifest = json.loads((index.parent / "manifest.json").read_text())
    catalog = json.loads((index.parent / "catalog.json").read_text())
    undocumented = [
        f"{uid}.{column}"
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] in ("model", "seed")
        for column in [None, *catalog["nodes"][uid]["columns"]]
        if not (node["columns"].get(column, {}) if column else node).get("description")
    ]
    assert undocumented == []
    assert {"exposure.xrec.bi_dashboards", "exposure.xrec.cross_recommendations"} <= set(manifest["exposures"])


def test_dbt_connection_is_bounded_like_every_warehouse_connection(tiny_raw: Settings, tmp_path: Path) -> None:
    # dbt's DuckDB gets XREC_DUCKDB_MEMORY_LIMIT too (unbounded, the first build at L reached
    # 11 GB); DuckDB itself says what 300MB reads as
    from dbt.cli.main import dbtRunner

    from xrec.transform import _dbt_environment, _release_warehouse

    settings = Settings.isolated(tmp_path, {"XREC_DUCKDB_MEMORY_LIMIT": "300MB"})
    project = str(settings.dbt_project_dir)
    args = ["show", "--inline", "select current_setting('memory_limit') as m", "--project-dir", project]
    args += ["--profiles-dir", project, "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
    args += ["--vars", json.dumps({"run_date": "2026-03-02"}), "--quiet"]
    with _dbt_environment(settings):
        try:
            result = dbtRunner().invoke(args)
        finally:
            _release_warehouse()
    assert result.success, result.exception
    with duckdb.connect(config={"memory_limit": "300MB"}) as con:
        [(expected,)] = con.execute("select current_setting('memory_limit')").fetchall()
    assert result.result.results[0].agate_table.rows[0][0] == expected
