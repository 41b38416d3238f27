from dataclasses import replace
from datetime import timedelta

import duckdb
import pandas as pd

from ml.gate import promotion_decision
from ml.pipeline import score_candidates, train_and_evaluate
from ml.registry import record_run
from ml.score import CANDIDATES_DDL
from tests.ml.conftest import RUN_DATE, candidates, make_warehouse


def test_planted_structure_beats_popularity(trained):
    _, run, _ = trained
    assert run.primary_metric == "cross_domain.precision_at_k"
    assert run.primary_value >= 2 * run.baseline_value
    assert run.metrics["cold_start_items"]["auc"] >= 0.70
    assert run.metrics["cold_start_items"]["items"] > 0
    for partner, m in run.metrics["platform_to_partner"].items():
        assert {"precision_at_k", "recall_at_k", "ndcg_at_k", "auc", "coverage", "diversity"} <= set(m)
    assert run.is_promoted and not run.is_published


def test_model_run_row_and_artifact(trained):
    settings, run, rows = trained
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        row = con.execute("select * from main.model_runs").df()
    assert len(row) == 1 and row.loc[0, "model_version"] == run.model_version
    assert run.model_version.startswith("20260301-")
    assert row.loc[0, "is_promoted"] and not row.loc[0, "is_published"]
    folder = settings.artifacts / "models" / run.model_version
    assert {p.name for p in folder.iterdir()} == {"model.pkl", "id_maps.json", "metrics.json"}
    assert rows == len(candidates(settings))


def test_rerun_is_deterministic(tmp_path, trained):
    settings, run, _ = trained
    again = make_warehouse(tmp_path)  # same seed, same data, one thread
    rerun = train_and_evaluate(again, RUN_DATE)
    score_candidates(again, RUN_DATE)
    assert rerun.model_version == run.model_version
    assert rerun.metrics == run.metrics
    first, second = candidates(settings), candidates(again)
    pd.testing.assert_frame_equal(first.drop(columns="generated_at"), second.drop(columns="generated_at"))


def test_gate_refuses_a_regressed_model_and_clears_candidates(tmp_path, trained):
    _, good, _ = trained
    settings = make_warehouse(tmp_path)
    with duckdb.connect(str(settings.warehouse)) as con:  # yesterday's published model was far better
        con.execute(CANDIDATES_DDL)
        con.execute("insert into main.recommendation_candidates (run_date, item_id) values (?, 'stale')", [RUN_DATE])
    record_run(settings, replace(good, run_date=RUN_DATE - timedelta(days=1), primary_value=0.99, is_published=True))
    run = train_and_evaluate(settings, RUN_DATE)
    assert not run.is_promoted and "regressed" in run.decision_reason
    assert run.previous_value == 0.99
    assert score_candidates(settings, RUN_DATE) == 0
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from main.recommendation_candidates").fetchone()[0] == 0


def test_gate_needs_to_beat_baseline_and_not_regress():
    assert promotion_decision(0.30, 0.10, None, 0.10)[0]
    assert promotion_decision(0.28, 0.10, 0.30, 0.10)[0]  # -6.7% is within tolerance
    refused, reason = promotion_decision(0.10, 0.10, None, 0.10)
    assert not refused and "baseline" in reason
    refused, reason = promotion_decision(0.20, 0.10, 0.30, 0.10)
    assert not refused and "regressed" in reason
