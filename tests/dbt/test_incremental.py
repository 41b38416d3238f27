"""Incremental models (macros/incremental_deliveries.sql, macros/incremental_intermediate.sql): a
run per day, with late and re-delivered days, a newly linked account, erasures and re-published
recommendations on the way, builds exactly the warehouse a full refresh builds on the last day."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from xrec import daily
from xrec.catalog import CROSS_RECOMMENDATIONS, PARTNER_TO_PLATFORM
from xrec.config import Settings
from xrec.ingest import ingest_source
from xrec.transform import dbt_build
from xrec_tools.feedback import simulate_outcomes
from xrec_tools.sample import generate

START, DAYS, USERS, SEED = date(2026, 3, 1), 4, 300, 11
LAST = START + timedelta(days=DAYS - 1)
SCHEMAS = ("staging", "intermediate", "marts")
LATE = ("home", START + timedelta(days=1))  # this drop lands a day after its date
RECIPIENTS, COURSES = 5, 3  # per partner, in each published partition


def drop(landing: Path, source: str, day: date) -> Path:
    return landing / source / day.isoformat()


def resend_first_event(landing: Path) -> str:
    """Day 3's drop re-sends day 1's first event (a duplicate, as the contract allows); returns its id."""
    header, first, *_ = (drop(landing, "platform", START) / "events.csv").read_text(encoding="utf-8").splitlines()
    day3 = drop(landing, "platform", START + timedelta(days=2)) / "events.csv"
    day3.write_text(day3.read_text(encoding="utf-8") + first + "\n", encoding="utf-8")
    return first.split(",")[0]


def redeliver_old_days(landing: Path) -> None:
    """Re-deliver days 1 and 2: day 1's events lose every third line and their first event (whose
    first delivery moves to day 3's re-send, a partition that did not change); realty's day-2
    interactions become empty (the partition disappears)."""
    day1 = drop(landing, "platform", START) / "events.csv"
    header, _, *rest = day1.read_text(encoding="utf-8").splitlines()
    day1.write_text("\n".join([header, *(line for n, line in enumerate(rest) if n % 3)]) + "\n", encoding="utf-8")
    interactions = drop(landing, "realty", START + timedelta(days=1)) / "interactions.csv"
    interactions.write_text(interactions.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")


def redeliver_outcomes(landing: Path, day: date) -> None:
    """finance re-delivers the outcomes of `day` with every other event left out."""
    path = drop(landing, "finance", day) / "outcomes.csv"
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    assert len(rows) > 1
    path.write_text("\n".join([header, *rows[::2]]) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class Link:
    partner: str
    customer_id: str
    user_id: str


def link_a_partner_only_customer(settings: Settings, day: date) -> Link:
    """finance's day-`day` drop gives a partner-only customer with interactions the email hash of
    a platform user nobody is linked to (nor asks to be erased): from that day on they are one person."""
    erasing = [
        row["user_id"]
        for path in settings.landing.glob("platform/*/deletions.csv")
        for row in csv.DictReader(path.read_text(encoding="utf-8").splitlines())
    ]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        customer_id, user_id, email = con.execute(
            """
            select customer.account_id, platform_user.account_id, platform_user.email_sha256
            from intermediate.int_identity as customer, intermediate.int_identity as platform_user
            where customer.account_source = 'finance' and customer.match_rule = 'partner_only'
              and exists (select 1 from intermediate.int_interactions_unified as i
                          where i.source = 'finance' and i.account_id = customer.account_id)
              and platform_user.account_source = 'platform' and platform_user.email_sha256 is not null
              and not list_contains(?, platform_user.account_id)
              and not exists (select 1 from intermediate.int_identity as other
                              where other.account_id <> platform_user.account_id
                                and (other.person_id = platform_user.person_id
                                     or other.email_sha256 = platform_user.email_sha256))
            order by customer.account_id, platform_user.account_id
            limit 1
            """,
            [erasing],
        ).fetchone()
    path = drop(settings.landing, "finance", day) / "customers.csv"
    with path.open(encoding="utf-8") as handle:
        columns = next(csv.reader(handle))
    row = {"customer_id": customer_id, "email_sha256": email, "updated_at": f"{day}T23:00:00"}
    with path.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow([row.get(column, "") for column in columns])
    return Link("finance", customer_id, user_id)


def publish(settings: Settings, run_date: date, variant: str = "model") -> None:
    """Stand-in for the publish step: (re)write the run_date partition of cross_recommendations
    with partner_to_platform recommendations of a few courses for a few customers of every partner."""
    with duckdb.connect(str(settings.warehouse)) as con:
        recommendations = con.execute(
            f"""
            select customers.partner, customers.customer_id as recipient_id, courses.course_id as item_id,
                   row_number() over (partition by customers.partner, customers.customer_id
                                      order by courses.course_id)::integer as rank
            from (select partner, customer_id from staging.stg_partners__customers
                  qualify row_number() over (partition by partner order by customer_id) <= {RECIPIENTS}) as customers,
                 (select course_id from staging.stg_platform__courses order by course_id limit {COURSES}) as courses
            """
        ).df()
        frame = recommendations.assign(
            run_date=run_date,
            model_version=f"test-{run_date}-{variant}",
            direction=PARTNER_TO_PLATFORM,
            score=1.0 / recommendations["rank"],
            generated_at=datetime.now(),
            person_id=None,
            variant=variant,
            reason="",
            reason_items="[]",
        )[CROSS_RECOMMENDATIONS.column_names]
        con.execute(CROSS_RECOMMENDATIONS.ddl())
        con.execute(f"delete from {CROSS_RECOMMENDATIONS.relation} where run_date = ?", [run_date])
        con.register("published", frame)
        con.execute(f"insert into {CROSS_RECOMMENDATIONS.relation} select * from published")


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


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_daily_incremental_runs_equal_a_full_refresh(tmp_path: Path, settings_in: Callable[[Path], Settings]) -> None:
    settings = settings_in(tmp_path / "daily")
    generate(settings.landing, START, DAYS, USERS, SEED)
    moved = resend_first_event(settings.landing)
    late_marker = drop(settings.landing, *LATE) / "_SUCCESS"
    link = None
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        if day == LATE[1]:
            late_marker.rename(late_marker.with_name("_SUCCESS.late"))  # not complete on its date
        if day == LATE[1] + timedelta(days=1):
            late_marker.with_name("_SUCCESS.late").rename(late_marker)
        if day == LAST:
            redeliver_old_days(settings.landing)
            redeliver_outcomes(settings.landing, START + timedelta(days=2))
            link = link_a_partner_only_customer(settings, day)
            publish(settings, START, variant="control")  # day 1's partition re-published
        for source in settings.sources:
            ingest_source(settings, source, day)
        daily.erase(settings, day)
        dbt_build(settings, day)
        if day < LAST:
            publish(settings, day)
            simulate_outcomes(settings, day)

    # day 1's first event now comes from its re-send on day 3, realty's day 2 is gone
    for moved_rows in (
        "select _delivery_date from staging.stg_platform__events where event_id = ?",
        "select _delivery_date from intermediate.int_interactions_unified where interaction_key = 'platform:' || ?",
    ):
        assert query(settings, moved_rows, [moved]) == [(START + timedelta(days=2),)]
    assert query(
        settings,
        "select count(*) from staging.stg_partners__interactions where partner = 'realty' and _delivery_date = ?",
        [START + timedelta(days=1)],
    ) == [(0,)]
    # the late drop arrived, the linked customer's whole history moved to the platform user, the
    # erased left nothing behind, day 1 is read with its re-published recommendations
    assert query(
        settings,
        "select count(*) > 0 from intermediate.int_interactions_unified where source = ? and _delivery_date = ?",
        list(LATE),
    ) == [(True,)]
    assert query(
        settings,
        "select distinct person_id from intermediate.int_interactions_unified where source = ? and account_id = ?",
        [link.partner, link.customer_id],
    ) == [(f"platform:{link.user_id}",)]
    erased = [f"platform:{user_id}" for (user_id,) in query(settings, "select user_id from raw.erasures_done")]
    assert len(erased) == 3
    assert query(
        settings,
        "select count(*) from intermediate.int_interactions_unified where list_contains(?, person_id)",
        [erased],
    ) == [(0,)]
    assert query(
        settings,
        "select distinct variant from intermediate.int_recommendation_outcomes where recommended_date = ? and is_delivered",
        [START],
    ) == [("control",)]
    assert query(
        settings,
        "select count(distinct recommended_date) from intermediate.int_recommendation_outcomes where outcome_events > 0",
    ) == [(DAYS - 1,)]

    full = settings_in(tmp_path / "full")
    full.warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(settings.warehouse, full.warehouse)
    dbt_build(full, LAST, full_refresh=True)
    assert differences(settings.warehouse, full.warehouse) == {}


def test_tables_built_before_their_version_column_existed_are_rebuilt(tiny_raw: Settings, tiny_run_date: date) -> None:
    # as an older xrec left them: no version column, and a row whose inputs are gone
    tables = {
        "staging.stg_platform__events": ("_loaded_at", {"event_id": "gone", "_delivery_date": date(2026, 1, 1)}),
        "intermediate.int_interactions_unified": (
            "_loaded_at",
            {"interaction_key": "platform:gone", "source": "platform", "_delivery_date": date(2026, 1, 1)},
        ),
        "intermediate.int_recommendation_outcomes": (
            "_inputs_version",
            {"recommended_date": date(2026, 1, 1), "partner": "realty", "recipient_id": "R1", "item_id": "C1"},
        ),
    }
    dbt_build(tiny_raw, tiny_run_date)
    built = {}
    with duckdb.connect(str(tiny_raw.warehouse)) as con:
        for table, (version, stale) in tables.items():
            built[table] = con.execute(f"select * exclude ({version}) from {table} order by all").fetchall()
            con.execute(f"alter table {table} drop column {version}")
            con.register("stale_row", pd.DataFrame([stale]))
            con.execute(f"insert into {table} ({', '.join(stale)}) select * from stale_row")
            con.unregister("stale_row")

    dbt_build(tiny_raw, tiny_run_date)

    with duckdb.connect(str(tiny_raw.warehouse), read_only=True) as con:
        for table, (version, _) in tables.items():
            assert con.execute(f"select * exclude ({version}) from {table} order by all").fetchall() == built[table]
