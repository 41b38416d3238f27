"""Generated sample -> ingest -> dbt_build, checked against the generator's manifest."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from xrec.config import Settings
from xrec.ingest import ingest_source
from xrec.transform import dbt_build
from xrec_tools.sample import generate

START, DAYS, USERS, SEED = date(2026, 3, 1), 3, 300, 11
# staging relation and key of each entity, to look planted duplicates up
KEYS = {
    ("platform", "users"): ("staging.stg_platform__users", "user_id", None),
    ("platform", "courses"): ("staging.stg_platform__courses", "course_id", None),
    ("platform", "events"): ("staging.stg_platform__events", "event_id", None),
    ("partner", "customers"): ("staging.stg_partners__customers", "customer_id", "partner"),
    ("partner", "interactions"): ("staging.stg_partners__interactions", "interaction_id", "partner"),
    ("partner", "items"): ("staging.stg_{source}__items", "item_id", None),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, settings_in: Callable[[Path], Settings]):
    """(settings, manifest, truth folder) after generating, ingesting and building the sample."""
    base = tmp_path_factory.mktemp("sample")
    settings = settings_in(base)
    manifest_path = generate(settings.landing, START, DAYS, USERS, SEED)
    run_date = START + timedelta(days=DAYS - 1)
    for source in settings.sources:
        ingest_source(settings, source, run_date)
    dbt_build(settings, run_date)
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return settings, manifest, manifest_path.parent / manifest["truth"]["folder"]


def test_planted_duplicates_and_resent_events_are_gone(built) -> None:
    settings, manifest, _ = built
    planted = manifest["planted"]["duplicates"] + manifest["planted"]["resent"]
    assert planted, "the sample should plant duplicates"
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        for record in planted:
            kind = "platform" if record["source"] == "platform" else "partner"
            relation, key, partner_column = KEYS[(kind, record["entity"])]
            where = f"{key} = ?" + (f" and {partner_column} = ?" if partner_column else "")
            params = [record["record_id"]] + ([record["source"]] if partner_column else [])
            (count,) = con.execute(
                f"select count(*) from {relation.format(source=record['source'])} where {where}", params
            ).fetchone()
            assert count == 1, record


def test_planted_overlap_is_recovered_within_one_percent(built) -> None:
    settings, manifest, truth_dir = built
    links = pd.read_parquet(truth_dir / manifest["truth"]["tables"]["identity_links"])
    # accounts whose id the generator blanked were quarantined at ingest: not recoverable
    blanked = {
        v["original_id"]
        for v in manifest["planted"]["violations"]
        if v["rule"].startswith("required:") and v["entity"] in ("users", "customers")
    }
    # users who asked to be erased (platform/deletions) leave the warehouse with their links
    erased = set(
        pd.concat([pd.read_csv(path, dtype=str) for path in settings.landing.glob("platform/*/deletions.csv*")])[
            "user_id"
        ]
    )
    assert erased, "the sample should plant erasure requests"
    links = links[~links["user_id"].isin(blanked | erased) & ~links["customer_id"].isin(blanked)]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        found = con.execute(
            "select account_source as partner, account_id as customer_id, platform_user_id as user_id "
            "from intermediate.int_identity where account_source <> 'platform' and platform_user_id is not null"
        ).df()
    truth = set(links[["partner", "customer_id", "user_id"]].itertuples(index=False, name=None))
    recovered = set(found.itertuples(index=False, name=None))
    assert len(truth & recovered) >= 0.99 * len(truth)
    assert len(recovered - truth) <= 0.01 * len(truth)


def test_no_person_appears_twice(built) -> None:
    settings, _, _ = built
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("select count(*) - count(distinct person_id) from marts.dim_person").fetchone() == (0,)
        # every platform user is exactly one person
        assert con.execute(
            "select count(*) from staging.stg_platform__users u "
            "left join marts.dim_person p on p.platform_user_id = u.user_id where p.person_id is null"
        ).fetchone() == (0,)


def test_rebuild_is_idempotent_and_segments_are_stable(built) -> None:
    settings, manifest, _ = built
    sql = "select person_id, segment_id, risk_tolerance from marts.ml_persons order by person_id"
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        before = con.execute(sql).fetchall()
    dbt_build(settings, date.fromisoformat(manifest["dates"][-1]))
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        after = con.execute(sql).fetchall()
        profiles = con.execute("select segment_id, segment_name from marts.bi_segment_profiles").fetchall()
    assert before == after
    assert len({segment for _, segment, _ in after}) > 2
    assert all(name for _, name in profiles)
