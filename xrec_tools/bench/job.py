"""The daily job as the DAG runs it (xrec.daily, step by step, each step in a task process of
its own), one timed stage per step, plus the row counts and model quality of the run."""

from __future__ import annotations

import itertools
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from datetime import date
from typing import Any

from xrec import daily
from xrec.config import Settings
from xrec.logs import configure_logging
from xrec.spans import recording
from xrec.warehouse import connect
from xrec_tools.bench.monitor import RssSampler, Stage, StageClock

log = logging.getLogger(__name__)

JOB_STAGES = tuple(dict.fromkeys(step.stage for step in daily.STEPS))
MODEL_STAGES = ("train_evaluate", "score")
STAGES = ("generate", *JOB_STAGES)


class TaskFailed(RuntimeError):
    """A step failed in its task process: its exception's type and message. The exception itself
    does not always survive the way back: one whose __init__ takes more than the message (such as
    DbtBuildFailed) cannot be unpickled, and the harness saw only BrokenProcessPool."""


def run_task(step: str, verbose: bool, *args: Any) -> tuple[Any, Stage]:
    """The body of one task process: `daily.<step>(*args)`, its spans (xrec.spans) as parts,
    with its own peak RSS. A failure is logged with its traceback here and raised as TaskFailed."""
    configure_logging(verbose)
    try:
        with RssSampler() as sampler:
            clock = StageClock(sampler, label="task")
            with clock.stage(step), recording(clock.record):
                result = getattr(daily, step)(*args)
    except Exception as error:
        log.exception("task %s failed", step)
        raise TaskFailed(f"{step}: {type(error).__name__}: {error}") from None
    return result, clock.stages[step]


def _as_task(clock: StageClock, step: str, settings: Settings, *args: Any) -> Any:
    """Run a step in a fresh interpreter, as Airflow runs each task in a process of its own: the
    stage's time includes starting it, and its peak RSS is the task's, not what earlier steps
    left in one long-lived process (at M that was 8.8 GB against 6 GB for the largest task)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        result, stage = pool.submit(run_task, step, settings.verbose, settings, *args).result()
    clock.add_task(stage)
    return result


def run_daily_job(settings: Settings, run_date: date, clock: StageClock) -> bool:
    """Every step of the daily job for run_date, in the order of xrec.daily.STEPS, one stage per
    step (steps sharing a stage, and per-source steps, are its parts).

    Like the DAG's short-circuit, a model that fails the promotion gate skips the steps that need
    it (those stages are then absent); returns whether the model was promoted.
    """
    sources = daily.plan_sources(settings)
    results: dict[str, Any] = {}
    promoted = True
    for stage, grouped in itertools.groupby(daily.STEPS, key=lambda step: step.stage):
        steps = list(grouped)
        if not promoted and any(step.needs_promotion for step in steps):
            continue
        with clock.stage(stage):
            for step in steps:
                extra = (results[step.input_from],) if step.input_from else ()
                if step.per_source:
                    results[step.function] = []
                    for source in sources:
                        with clock.part(source):
                            results[step.function].append(
                                _as_task(clock, step.function, settings, source, run_date, *extra)
                            )
                elif len(steps) > 1:
                    with clock.part(step.function):
                        results[step.function] = _as_task(clock, step.function, settings, run_date, *extra)
                else:
                    results[step.function] = _as_task(clock, step.function, settings, run_date, *extra)
        model_run = results.get("train_and_evaluate")
        if promoted and model_run is not None and not model_run["is_promoted"]:
            promoted = False
            log.warning(
                "bench %s: model not promoted (%s); the steps after the promotion gate are skipped as in the DAG",
                run_date,
                model_run["reason"],
            )
    return promoted


def data_counts(settings: Settings, run_date: date) -> dict:
    """Rows at each layer of the run: landing rows read, marts, candidates, published rows."""
    with connect(settings, read_only=True) as con:
        read, loaded, quarantined, files = con.execute(
            "select coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), "
            "coalesce(sum(rows_quarantined), 0), count(*) from raw.load_audit"
        ).fetchone()
        (read_on_run_date,) = con.execute(
            "select coalesce(sum(rows_read), 0) from raw.load_audit where delivery_date = ?", [run_date]
        ).fetchone()
        counts = {
            "raw_files": files,
            "raw_rows_read_run_date": read_on_run_date,  # the day's own drops: what the day brings
            "raw_rows_read": read,
            "raw_rows_loaded": loaded,
            "raw_rows_quarantined": quarantined,
        }
        for mart in ("ml_persons", "ml_recipients", "ml_items", "ml_interactions"):
            counts[mart] = con.execute(f"select count(*) from marts.{mart}").fetchone()[0]
        for table in ("recommendation_candidates", "cross_recommendations"):
            counts[table] = con.execute(f"select count(*) from main.{table} where run_date = ?", [run_date]).fetchone()[
                0
            ]
        counts["recipients_by_source"] = dict(
            con.execute("select recipient_source, count(*) from marts.ml_recipients group by 1 order by 1").fetchall()
        )
        counts["items_by_source"] = dict(
            con.execute("select source, count(*) from marts.ml_items group by 1 order by 1").fetchall()
        )
    return counts


def model_quality(settings: Settings, run_date: date) -> dict:
    """The model_runs row of run_date: the model's metrics beside the popularity baseline's."""
    from xrec.steps.registry import run_for

    run = run_for(settings, run_date)
    if run is None:
        raise LookupError(f"model_runs has no row for {run_date} in {settings.warehouse}")
    row = asdict(run)
    keep = (
        "model_version",
        "ranker",
        "primary_metric",
        "primary_value",
        "model_value",
        "baseline_value",
        "previous_value",
        "tuned_on",
        "is_published",
        "decision_reason",
        "metrics",
        "baseline_metrics",
        "params",
    )
    return {key: row.get(key) for key in keep}
