"""Incremental staging (macros/incremental_deliveries.sql): a run per day, with old days
re-delivered on the way, builds exactly the warehouse a full refresh builds on the last day."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb

from xrec.config import Settings
from xrec.ingest import ingest_source
from xrec.transform import dbt_build
from xrec_tools.sample import generate

START, DAYS, USERS, SEED = date(2026, 3, 1), 4, 300, 11
SCHEMAS = ("staging", "intermediate", "marts")


def redeliver_old_days(landing: Path) -> str:
    """Re-deliver days 1 and 2: day 1's events lose every third line and their first event, which
    day 2 now delivers (so its first delivery moves to day 2); realty's day-2 interactions become
    empty (the partition disappears). Returns the moved event_id."""
    day1 = landing / "platform" / START.isoformat() / "events.csv"
    day2 = landing / "platform" / (START + timedelta(days=1)).isoformat() / "events.csv"
    header, moved, *rest = day1.read_text(encoding="utf-8").splitlines()
    day1.write_text("\n".join([header, *(line for n, line in enumerate(rest) if n % 3)]) + "\n", encoding="utf-8")
    day2.write_text(day2.read_text(encoding="utf-8") + moved + "\n", encoding="utf-8")
    interactions = landing / "realty" / (START + timedelta(days=1)).isoformat() / "interactions.csv"
    interactions.write_text(interactions.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    return moved.split(",")[0]


def differences(left: Path, right: Path) -> dict[str, tuple[int, int, int]]:
    """table -> (rows only left, rows only right, rows) for every built table that differs."""
    found = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{left}' as l (read_only)")
        con.execute(f"attach '{right}' as r (read_only)")
        tables = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            f"where table_catalog = 'r' and table_schema in {SCHEMAS} order by 1"
        ).fetchall()
        assert len(tables) > 20
        for (table,) in tables:
            only_left, only_right, rows = con.execute(
                f"select (select count(*) from (from l.{table} except all from r.{table})), "
                f"(select count(*) from (from r.{table} except all from l.{table})), "
                f"(select count(*) from r.{table})"
            ).fetchone()
            if only_left or only_right:
                found[table] = (only_left, only_right, rows)
    return found


def test_daily_incremental_runs_equal_a_full_refresh(tmp_path: Path, settings_in: Callable[[Path], Settings]) -> None:
    daily = settings_in(tmp_path / "daily")
    generate(daily.landing, START, DAYS, USERS, SEED)
    last = START + timedelta(days=DAYS - 1)
    moved = None
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        if day == last:
            moved = redeliver_old_days(daily.landing)
        for source in daily.sources:
            ingest_source(daily, source, day)
        dbt_build(daily, day)

    with duckdb.connect(str(daily.warehouse), read_only=True) as con:
        assert con.execute(
            "select _delivery_date from staging.stg_platform__events where event_id = ?", [moved]
        ).fetchall() == [(START + timedelta(days=1),)]
        assert con.execute(
            "select count(*) from staging.stg_partners__interactions where partner = 'realty' and _delivery_date = ?",
            [START + timedelta(days=1)],
        ).fetchall() == [(0,)]

    full = settings_in(tmp_path / "full")
    full.warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(daily.warehouse, full.warehouse)
    dbt_build(full, last, full_refresh=True)
    assert differences(daily.warehouse, full.warehouse) == {}


def test_a_table_staged_before_versions_existed_is_restaged(tiny_raw: Settings, tiny_run_date: date) -> None:
    dbt_build(tiny_raw, tiny_run_date)
    sql = "select * exclude (_loaded_at) from staging.stg_platform__events order by event_id"
    with duckdb.connect(str(tiny_raw.warehouse)) as con:
        built = con.execute(sql).fetchall()
        # as an older xrec left it: no _loaded_at, and a row whose delivery is gone
        con.execute("alter table staging.stg_platform__events drop column _loaded_at")
        con.execute(
            "insert into staging.stg_platform__events (event_id, _delivery_date) values ('gone', date '2026-01-01')"
        )

    dbt_build(tiny_raw, tiny_run_date)

    with duckdb.connect(str(tiny_raw.warehouse), read_only=True) as con:
        assert con.execute(sql).fetchall() == built
