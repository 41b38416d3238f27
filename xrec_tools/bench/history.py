"""`xrec bench --history-growth`: what a longer history costs the daily job.

The same size is generated over a short and over a long history (same users and seed: the
late signups and late catalogue items spread over more days, so the last day's volume is the
same). For each, the job runs for the day before the last (the catch-up of every drop plus
the model selection; reported, not compared) and then the daily run of the last day is timed.
The ratio long / short of that daily run, model training excluded, is what history costs.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from xrec_tools.bench.job import data_counts
from xrec_tools.bench.machine import machine_info
from xrec_tools.bench.monitor import RssSampler, StageClock
from xrec_tools.bench.render import render_history_markdown
from xrec_tools.bench.runner import (
    BenchmarkFailed,
    effective_overrides,
    failure,
    remove_empty_scratch_root,
    timed_daily_run,
    write_atomic,
)
from xrec_tools.bench.sizes import HISTORY_DAYS, SIZES, with_history
from xrec_tools.bench.summary import history_growth

log = logging.getLogger(__name__)


def _history_run(size_name: str, days: int, scratch: Path, sampler: RssSampler, overrides: dict[str, str]) -> dict:
    size = with_history(SIZES[size_name], days)
    clock = StageClock(sampler, label=size.name)
    try:
        settings, tuning, promoted = timed_daily_run(size, scratch, sampler, overrides, clock)
        counts = data_counts(settings, size.run_date)
    except BenchmarkFailed:  # the tuning run's: it names its own stage and date
        raise
    except Exception as error:
        raise failure(size, clock, error, scratch) from error
    spec = {**asdict(size), "start": size.start.isoformat(), "run_date": size.run_date.isoformat()}
    return {
        "spec": spec,
        "tuning": tuning,
        "promoted": promoted,
        "stages": {name: asdict(stage) for name, stage in clock.stages.items()},
        "counts": counts,
    }


def run_history_growth(
    size_name: str,
    out_dir: Path,
    days: tuple[int, int] = HISTORY_DAYS,
    settings_overrides: dict | None = None,
) -> Path:
    """Time the daily job of `size_name` after `days[0]` and after `days[1]` days of history;
    writes `history-<size>-<UTC timestamp>.json` and `history-latest.md` to `out_dir` and
    returns the JSON's path. Each history's data lives in `out_dir/scratch/<size>-<days>d/`,
    removed once measured (kept on failure)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    overrides = effective_overrides(settings_overrides or {})
    created = datetime.now(UTC)
    machine = machine_info()
    histories = []
    with RssSampler() as sampler:
        for length in days:
            scratch = out_dir / "scratch" / f"{size_name}-{length}d"
            log.info("bench history growth %s: %d days", size_name, length)
            histories.append(_history_run(size_name, length, scratch, sampler, overrides))
            shutil.rmtree(scratch, ignore_errors=True)
    machine["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    growth = history_growth(size_name, *histories)
    doc = {
        "created_at": created.isoformat(timespec="seconds"),
        "machine": machine,
        "size": size_name,
        "settings_overrides": overrides,
        "histories": {str(h["spec"]["days"]): h for h in histories},
        "growth": growth,
        "targets": [growth["check"]],
    }
    path = out_dir / f"history-{size_name}-{created:%Y%m%dT%H%M%SZ}.json"
    write_atomic(path, json.dumps(doc, indent=2, default=str))
    write_atomic(out_dir / "history-latest.md", render_history_markdown(doc))
    remove_empty_scratch_root(out_dir)
    return path
