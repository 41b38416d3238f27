"""The benchmark follows the daily job's one step list and times the parts its steps mark."""

import inspect
from datetime import date

import pytest

from ml.config import ModelConfig
from ml.dataset import build_dataset, known_interactions
from ml.train import train_model
from tests.ml.conftest import make_warehouse
from xrec import daily
from xrec.config import Settings
from xrec.spans import recording
from xrec.steps.marts import load_marts
from xrec_tools.bench.job import JOB_STAGES, TaskFailed, _as_task
from xrec_tools.bench.monitor import RssSampler, StageClock


def test_bench_stages_are_the_daily_steps_in_order():
    assert JOB_STAGES == (
        "ingest",
        "gate_raw",
        "privacy",
        "dbt",
        "gate_marts",
        "train_evaluate",
        "score",
        "gate_outputs",
        "publish",
        "report",
    )
    for step in daily.STEPS:
        assert callable(getattr(daily, step.function)), step
        if step.input_from:
            assert step.input_from in [s.function for s in daily.STEPS[: daily.STEPS.index(step)]]
        assert "run_date" in inspect.signature(getattr(daily, step.function)).parameters


def test_a_fit_reports_interactions_times_epochs(tmp_path):
    marts = load_marts(make_warehouse(tmp_path))
    interactions = known_interactions(marts)
    dataset = build_dataset(marts, interactions)
    seen = []
    with recording(lambda name, seconds, units: seen.append((name, units))):
        train_model(ModelConfig(epochs=2, components=4), dataset, interactions)
        train_model(ModelConfig(epochs=2, components=4), dataset, interactions, epochs=1)
    assert seen == [("fit", 2 * len(interactions)), ("fit", len(interactions))]


def test_a_failing_task_reports_its_own_error(tmp_path):
    # DbtBuildFailed takes three arguments, so it cannot be unpickled in the harness: the task
    # sends its type and message instead (not BrokenProcessPool)
    settings = Settings.isolated(tmp_path)
    gate = [{"source": source, "included": True} for source in settings.sources]
    with RssSampler() as sampler, pytest.raises(TaskFailed) as caught:
        _as_task(StageClock(sampler), "build_warehouse", settings, date(2026, 11, 14), gate)
    assert "build_warehouse: DbtBuildFailed: dbt build for run_date 2026-11-14 failed" in str(caught.value)
    assert "does not exist" in str(caught.value)
