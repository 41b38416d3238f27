"""The benchmark follows the daily job's one step list and times the parts its steps mark."""

import inspect

from ml.config import ModelConfig
from ml.dataset import build_dataset, known_interactions
from ml.train import train_model
from tests.ml.conftest import make_warehouse
from xrec import daily
from xrec.spans import recording
from xrec.steps.marts import load_marts
from xrec_tools.bench.job import JOB_STAGES


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
