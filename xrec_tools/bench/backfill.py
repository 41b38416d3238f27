"""`xrec bench --backfill`: what a backfill of N days costs against one daily run, and whether a
backfilled day equals its daily run.

The size is generated over its own history plus N more days. The job runs for the last history
day (the catch-up of every drop plus the model selection: the state a team has when it starts
the backfill; reported, not compared) and then for the first backfill day: that day's daily run.
The backfill then runs every one of the N days in date order, as `xrec backfill` has Airflow do
(one run per business date, one at a time), re-running the first day, which already ran, and
running the others for the first time; the weekly tuning days fall inside it as they would in
daily operation. Last, the last day runs once more as a daily run over the backfilled day.
Target: the backfill takes at most N times one daily run (the mean of the two timed daily runs),
and the two days that ran both ways are equal: the first before any later day existed, the last
after all had run.

Each run is the bench's daily job (xrec_tools.bench.job: the DAG's steps, each in a fresh
process), not Airflow's scheduler: the figures are the job's, comparable with the other bench
figures; Airflow's backfill of the same steps is tested in tests/e2e/test_embedded_backfill.py.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from xrec.config import Settings
from xrec.warehouse import connect
from xrec_tools.bench.job import run_daily_job
from xrec_tools.bench.machine import machine_info
from xrec_tools.bench.monitor import RssSampler, StageClock
from xrec_tools.bench.render import plot_backfill, render_backfill_markdown
from xrec_tools.bench.runner import (
    effective_overrides,
    failure,
    remove_empty_scratch_root,
    scratch_settings,
    write_atomic,
)
from xrec_tools.bench.sizes import BACKFILL_DAYS, SIZES, BenchSize, with_backfill
from xrec_tools.bench.summary import backfill_cost
from xrec_tools.sample import generate

log = logging.getLogger(__name__)


# The model_runs columns of a day's decision: which ranker, on what figures, published or not.
DECISION = ("ranker", "primary_value", "model_value", "baseline_value", "is_published", "tuned_on")


def day_fingerprint(settings: Settings, run_date: date) -> dict:
    """What a day's run left behind, comparable between runs: the published partition (rows and
    an order-free hash of every column but the wall-clock generated_at) and the day's
    model_runs decision."""
    with connect(settings, read_only=True) as con:
        rows, digest = con.execute(
            "select count(*), coalesce(sum(hash(r)::hugeint), 0)::varchar from ("
            " select * exclude (generated_at) from cross_recommendations where run_date = ?) r",
            [run_date],
        ).fetchone()
        decision = con.execute(
            f"select {', '.join(DECISION)} from model_runs where run_date = ?", [run_date]
        ).fetchone()
    return {
        "published_rows": rows,
        "published_hash": digest,
        "model_run": None if decision is None else dict(zip(DECISION, map(str, decision), strict=True)),
    }


def _timed_day(
    size: BenchSize, settings: Settings, run_date: date, sampler: RssSampler, label: str, scratch: Path
) -> dict:
    clock = StageClock(sampler, label=f"{label} {run_date}")
    try:
        promoted = run_daily_job(settings, run_date, clock)
    except Exception as error:
        raise failure(size, clock, error, scratch, run_date) from error
    stages = {name: asdict(stage) for name, stage in clock.stages.items()}
    return {
        "run_date": run_date.isoformat(),
        "seconds": sum(stage["seconds"] for stage in stages.values()),
        "promoted": promoted,
        "tuned": "select" in stages.get("train_evaluate", {}).get("parts", {}),
        "stages": stages,
        "fingerprint": day_fingerprint(settings, run_date),
    }


def run_backfill(
    size_name: str, out_dir: Path, days: int = BACKFILL_DAYS, settings_overrides: dict | None = None
) -> Path:
    """The backfill measure of `size_name` over `days` days (see the module); writes
    `backfill-<size>-<UTC timestamp>.json`, `backfill-latest.md` and `backfill-latest.png` to
    `out_dir` and returns the JSON's path. The data lives in `out_dir/scratch/<size>-backfill/`,
    removed once measured (kept on failure)."""
    size = with_backfill(SIZES[size_name], days)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = out_dir / "scratch" / size.name
    shutil.rmtree(scratch, ignore_errors=True)
    overrides = effective_overrides(settings_overrides or {})
    settings = scratch_settings(scratch, {**size.settings, **overrides})
    created = datetime.now(UTC)
    machine = machine_info()
    first = size.run_date - timedelta(days=days - 1)
    backfill_dates = [first + timedelta(days=i) for i in range(days)]
    with RssSampler() as sampler:
        generate(settings.landing, size.start, size.days, size.users, size.seed)
        setup = _timed_day(size, settings, first - timedelta(days=1), sampler, "set-up", scratch)
        daily_first = _timed_day(size, settings, first, sampler, "daily run", scratch)
        backfilled = []
        for number, run_date in enumerate(backfill_dates, 1):
            log.info("bench backfill %s: day %d/%d (%s)", size.name, number, days, run_date)
            backfilled.append(_timed_day(size, settings, run_date, sampler, "backfill", scratch))
        daily_last = _timed_day(size, settings, size.run_date, sampler, "daily run", scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    machine["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    spec = {**asdict(size), "start": size.start.isoformat(), "run_date": size.run_date.isoformat()}
    cost = backfill_cost(size_name, backfilled, [daily_first, daily_last])
    doc = {
        "created_at": created.isoformat(timespec="seconds"),
        "machine": machine,
        "size": size_name,
        "spec": spec,
        "settings_overrides": overrides,
        "setup": setup,
        "daily_runs": [daily_first, daily_last],
        "backfill": backfilled,
        "cost": cost,
        "targets": cost["checks"],
    }
    path = out_dir / f"backfill-{size_name}-{created:%Y%m%dT%H%M%SZ}.json"
    write_atomic(path, json.dumps(doc, indent=2, default=str))
    plot_backfill(doc, out_dir / "backfill-latest.png")
    write_atomic(out_dir / "backfill-latest.md", render_backfill_markdown(doc, "backfill-latest.png"))
    remove_empty_scratch_root(out_dir)
    return path
