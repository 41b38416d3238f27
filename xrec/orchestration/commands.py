"""What `xrec run` and `xrec backfill` do: prepare the landing folder, run Airflow, and tell the
user where the results are."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone

from xrec.config import PLATFORM, Settings
from xrec.orchestration.airflow_home import AirflowTopology
from xrec.orchestration.runner import Scheduler, run_day_in_process

log = logging.getLogger(__name__)

# The embedded sample: small enough that a first `make run` finishes in minutes on 2 cores.
SAMPLE = {"start": date(2026, 11, 1), "days": 14, "users": 2000, "seed": 7}


def ensure_sample(settings: Settings) -> None:
    """Generate the default sample extracts when the landing folder is empty."""
    if settings.landing.exists() and any(settings.landing.iterdir()):
        return
    from xrec.sample import generate

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


def run_daily(settings: Settings, run_date: date | None, latest: bool,
              partners: list[str] | None) -> int:
    if latest:
        ensure_sample(settings)
        run_date = latest_drop_date(settings)
    code = run_day_in_process(settings, run_date, partners)
    from xrec.orchestration.summary import describe_run

    print(describe_run(settings, run_date, code))
    return code


def backfill(settings: Settings, start: date, end: date) -> int:
    """Backfill [start, end] through a real scheduler on the embedded default; exit code."""
    days = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    with Scheduler(settings, AirflowTopology(use_job_schedule=False)) as scheduler:
        scheduler.wait_for_dag()
        since = datetime.now(timezone.utc)
        scheduler.backfill(start, end)
        states = scheduler.wait_for_days(days, since, timeout=len(days) * 1800)
    for day, state in states.items():
        print(f"  {day}  {state}")
    failed = [day for day, state in states.items() if state != "success"]
    print(f"backfill {start}..{end}: {len(days)} day(s), {len(failed)} failed")
    return 1 if failed else 0
