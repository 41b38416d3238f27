"""The daily job as the DAG runs it (xrec.daily, step by step, each step in a task process of
its own), one timed stage per step, plus the row counts and model quality of the run."""
from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from datetime import date
from typing import Any

from xrec import daily
from xrec.bench.monitor import Probe, RssSampler, Stage, StageClock, probed
from xrec.config import Settings
from xrec.logs import configure_logging
from xrec.warehouse import connect

log = logging.getLogger(__name__)

JOB_STAGES = ("ingest", "gate_raw", "privacy", "dbt", "gate_marts", "train_evaluate", "score", "gate_outputs",
              "publish", "report")
MODEL_STAGES = ("train_evaluate", "score")
STAGES = ("generate", *JOB_STAGES)


def _fitted_interactions(args: tuple, kwargs: dict) -> int:
    """Interactions x epochs of one ml.train.train_model(config, dataset, interactions,
    epochs=None, model=None) call (config.epochs when epochs is None)."""
    interactions = kwargs["interactions"] if "interactions" in kwargs else args[2]
    epochs = kwargs.get("epochs", args[3] if len(args) > 3 else None)
    return len(interactions) * (args[0].epochs if epochs is None else epochs)


# Functions the steps call, looked up by name at call time, so wrapping them times the parts.
PROBES = (
    Probe("xrec.steps.model", "load_marts", "load_marts"),
    Probe("xrec.steps.model", "select_model", "select"),
    Probe("ml.pipeline", "build_dataset", "build_dataset"),
    Probe("ml.pipeline", "train_model", "fit", _fitted_interactions),
    Probe("ml.pipeline", "evaluate", "evaluate"),
    Probe("xrec.steps.model", "score_all", "rank"),
    Probe("xrec.steps.model", "write_candidates", "write_candidates"),
    Probe("xrec.publish.step", "publish_partition", "cross_recommendations"),
    Probe("xrec.publish.step", "write_parquet", "parquet"),
    Probe("xrec.publish.step", "write_snapshot", "snapshot"),
    Probe("xrec.publish.step", "load_serving", "postgres"),
    Probe("xrec.publish.step", "write_partner_exports", "export"),
)


def run_task(step: str, verbose: bool, *args: Any) -> tuple[Any, Stage]:
    """The body of one task process: `daily.<step>(*args)`, probed, with its own peak RSS."""
    configure_logging(verbose)
    with RssSampler() as sampler:
        clock = StageClock(sampler, label="task")
        with probed(clock, PROBES), clock.stage(step):
            result = getattr(daily, step)(*args)
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
    """Every step of the daily job for run_date, in DAG order; per-source steps are parts.

    Like the DAG's short-circuit, a model that fails the promotion gate skips score, the output
    gate and publish (those stages are then absent); returns whether the model was promoted.
    """
    sources = daily.plan_sources(settings)
    with clock.stage("ingest"):
        for source in sources:
            with clock.part(source):
                _as_task(clock, "ingest", settings, source, run_date)
    with clock.stage("gate_raw"):
        gates = []
        for source in sources:
            with clock.part(source):
                gates.append(_as_task(clock, "gate_raw", settings, source, run_date))
    with clock.stage("privacy"):
        for step in ("erase", "purge_expired"):
            with clock.part(step):
                _as_task(clock, step, settings, run_date)
    with clock.stage("dbt"):
        _as_task(clock, "build_warehouse", settings, run_date, gates)
    with clock.stage("gate_marts"):
        _as_task(clock, "gate_marts", settings, run_date)
    with clock.stage("train_evaluate"):
        model_run = _as_task(clock, "train_and_evaluate", settings, run_date)
    if model_run["is_promoted"]:
        for step in ("score", "gate_outputs", "publish"):
            with clock.stage(step):
                _as_task(clock, step, settings, run_date)
    else:
        log.warning("bench %s: model not promoted (%s); score, output gate and publish skipped "
                    "as in the DAG", run_date, model_run["reason"])
    with clock.stage("report"):
        _as_task(clock, "report", settings, run_date)
    return model_run["is_promoted"]


def data_counts(settings: Settings, run_date: date) -> dict:
    """Rows at each layer of the run: landing rows read, marts, candidates, published rows."""
    with connect(settings, read_only=True) as con:
        read, loaded, quarantined, files = con.execute(
            "select coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), "
            "coalesce(sum(rows_quarantined), 0), count(*) from raw.load_audit"
        ).fetchone()
        counts = {"raw_files": files, "raw_rows_read": read, "raw_rows_loaded": loaded,
                  "raw_rows_quarantined": quarantined}
        for mart in ("ml_persons", "ml_recipients", "ml_items", "ml_interactions"):
            counts[mart] = con.execute(f"select count(*) from marts.{mart}").fetchone()[0]
        for table in ("recommendation_candidates", "cross_recommendations"):
            counts[table] = con.execute(
                f"select count(*) from main.{table} where run_date = ?", [run_date]
            ).fetchone()[0]
        counts["recipients_by_source"] = dict(con.execute(
            "select recipient_source, count(*) from marts.ml_recipients group by 1 order by 1"
        ).fetchall())
        counts["items_by_source"] = dict(con.execute(
            "select source, count(*) from marts.ml_items group by 1 order by 1"
        ).fetchall())
    return counts


def model_quality(settings: Settings, run_date: date) -> dict:
    """The model_runs row of run_date: the model's metrics beside the popularity baseline's."""
    from xrec.steps.registry import run_for

    run = run_for(settings, run_date)
    if run is None:
        raise LookupError(f"model_runs has no row for {run_date} in {settings.warehouse}")
    row = asdict(run)
    keep = ("model_version", "ranker", "primary_metric", "primary_value", "model_value", "baseline_value",
            "previous_value", "tuned_on",
            "is_published", "decision_reason", "metrics", "baseline_metrics", "params")
    return {key: row.get(key) for key in keep}
