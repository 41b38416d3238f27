"""What `xrec run` and `xrec backfill` do: prepare the landing folder, run Airflow, and tell the
user where the results are."""

from __future__ import annotations

import logging
import signal
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from xrec.config import PLATFORM, Settings
from xrec.orchestration import DAG_ID, DAG_START
from xrec.orchestration.airflow_home import AirflowCommandFailed, AirflowTopology, airflow, bootstrap
from xrec.orchestration.runner import (
    Scheduler,
    cancel_unfinished_backfills,
    create_backfill,
    run_day_in_process,
    wait_for_backfills_completed,
)

log = logging.getLogger(__name__)

# The embedded sample: small enough that a first `make run` finishes in minutes on 2 cores.
SAMPLE: dict[str, Any] = {"start": date(2026, 11, 1), "days": 14, "users": 2000, "seed": 7}


def ensure_sample(settings: Settings) -> None:
    """Generate the default sample extracts when the landing folder is empty."""
    if settings.landing.exists() and any(settings.landing.iterdir()):
        return
    from xrec_tools.sample import generate

    log.info("landing folder %s is empty: generating the sample extracts %s", settings.landing, SAMPLE)
    generate(settings.landing, SAMPLE["start"], SAMPLE["days"], SAMPLE["users"], SAMPLE["seed"])


def latest_drop_date(settings: Settings) -> date:
    """The newest business date for which the platform's drop is complete."""
    dates = sorted(
        date.fromisoformat(folder.name)
        for folder in (settings.landing / PLATFORM).glob("????-??-??")
        if (folder / "_SUCCESS").exists()
    )
    if not dates:
        raise SystemExit(f"no complete platform drop under {settings.landing / PLATFORM}")
    return dates[-1]


def refuse_before_start(day: date) -> None:
    """Airflow runs a date before the DAG's start_date as a run with no task, reported as a
    success: refuse it with a clear message instead."""
    if day < DAG_START:
        raise SystemExit(
            f"xrec: {day} is before {DAG_ID}'s start_date {DAG_START}; Airflow would "
            "run no task for it. Business dates from that day on can be run."
        )


def run_daily(settings: Settings, run_date: date | None, latest: bool, partners: list[str] | None) -> int:
    if latest:
        ensure_sample(settings)
        run_date = latest_drop_date(settings)
    refuse_before_start(run_date)
    code = run_day_in_process(settings, run_date, partners)
    from xrec.orchestration.summary import describe_run

    print(describe_run(settings, run_date, code))
    return code


def backfill(settings: Settings, start: date, end: date) -> int:
    """Backfill [start, end] through a real scheduler on the embedded default; exit code.

    The backfill is created before the scheduler starts: on SQLite, `airflow backfill create`
    racing a running scheduler for the same file failed with "database is locked" (it rewrites
    the completed runs it re-processes). The scheduler is stopped only once it has marked the
    backfill completed. A failed create, or a backfill stopped half-way, is cancelled so the
    next `xrec backfill` is not refused with AlreadyRunningBackfill.
    """
    if end < start:
        raise SystemExit(f"xrec backfill: --end {end} is before --start {start}")
    refuse_before_start(start)
    days = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    topology = AirflowTopology(use_job_schedule=False, api_port=settings.airflow_port)
    env = bootstrap(settings, topology)
    airflow(env, "dags", "reserialize", capture=True)  # the DAG is known before any scheduler
    for stale in cancel_unfinished_backfills(env):
        print(f"cancelled backfill {stale}, left unfinished by an earlier xrec backfill")
    since = datetime.now(UTC)
    try:
        create_backfill(env, start, end)
    except AirflowCommandFailed as exc:
        print(f"xrec backfill {start}..{end}: {exc}", file=sys.stderr)
        return 1
    try:
        with Scheduler(settings, topology) as scheduler:
            states = scheduler.wait_for_days(days, since, timeout=len(days) * 1800)
            wait_for_backfills_completed(env)  # recorded finished before the scheduler stops
    except BaseException:
        cancel_unfinished_backfills(env)  # stopped or timed out: leave nothing running
        raise
    for day, state in states.items():
        print(f"  {day}  {state}")
    failed = [day for day, state in states.items() if state != "success"]
    print(f"backfill {start}..{end}: {len(days)} day(s), {len(failed)} failed")
    return 1 if failed else 0


def airflow_ui(settings: Settings) -> int:
    """Start the embedded Airflow (api-server + scheduler + dag-processor + triggerer) on the
    metadata of `xrec run` and `xrec backfill`, until Ctrl-C. No cron runs are started: the
    UI shows, logs and lets you clear or trigger the runs xrec made."""
    # Ctrl-C must stop it even when started from a process that ignores SIGINT (a background
    # job, a test worker): Python installs no KeyboardInterrupt handler then, and the
    # components would outlive it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    topology = AirflowTopology(use_job_schedule=False, api_port=settings.airflow_port)
    with Scheduler(settings, topology) as scheduler:
        print(
            f"Airflow UI: http://127.0.0.1:{topology.api_port}/  (AIRFLOW_HOME="
            f"{settings.airflow_home}; plain `airflow` commands work with that AIRFLOW_HOME). "
            "Ctrl-C stops it.",
            flush=True,
        )
        try:
            while all(process.poll() is None for process in scheduler.processes):
                time.sleep(2)
        except KeyboardInterrupt:
            return 0
    print(f"an Airflow component stopped; see {settings.airflow_home / 'process-logs'}", file=sys.stderr)
    return 1
