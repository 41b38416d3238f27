"""Airflow wiring shared by the DAG, the CLI and the tests (light to import)."""

from __future__ import annotations

import functools
from datetime import date, time

from airflow.sdk import Asset
from airflow.sdk.exceptions import AirflowFailException

from xrec.config import BUSINESS_TIME_ZONE
from xrec.verdicts import Verdict

DAG_ID = "xrec_daily"
# The DAG's start_date. Business dates before it are refused by `xrec run`/`xrec backfill`
# (Airflow would create a run for them that executes no task and reports success).
DAG_START = date(2000, 1, 1)
# When the daily run starts, business time: late on the business day (its sensors wait for drops
# still to come); a logical date at that time is that business day.
SCHEDULED_AT = time(23, 30)
DAG_SCHEDULE = f"{SCHEDULED_AT.minute} {SCHEDULED_AT.hour} * * *"
# Every task that writes the DuckDB warehouse runs in this pool; its size is 1 because DuckDB
# allows a single writing process.
DUCKDB_POOL = "duckdb_writer"

PUBLISHED_ASSETS = [
    Asset("xrec://warehouse/cross_recommendations"),
    Asset("xrec://warehouse/model_runs"),
    Asset("xrec://serving/cross_recommendations_current"),
]


def run_date_from_context(context) -> date:
    """The business date: the `run_date` param when given, else the run's logical date.

    Airflow 3 daily runs have data_interval_start == data_interval_end, so the logical date is
    used explicitly; a manual run without a logical date falls back to its run_after.
    """
    override = context["params"].get("run_date")
    if override:
        return date.fromisoformat(override)
    dag_run = context["dag_run"]
    when = dag_run.logical_date or dag_run.run_after
    return when.in_timezone(BUSINESS_TIME_ZONE).date() if hasattr(when, "in_timezone") else when.date()


def fail_fast(step):
    """Run ``step``; a :class:`~xrec.verdicts.Verdict` fails the task at once (no retry can fix
    a contract violation or a failed gate), anything else keeps the task's retry policy."""

    @functools.wraps(step)
    def run(*args, **kwargs):
        try:
            return step(*args, **kwargs)
        except Verdict as verdict:
            raise AirflowFailException(f"{type(verdict).__name__}: {verdict}") from verdict

    return run
