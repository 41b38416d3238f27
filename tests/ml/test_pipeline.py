import json
from dataclasses import replace
from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.config import POPULARITY
from ml.gate import promotion_decision
from tests.ml.conftest import RUN_DATE, candidates, make_warehouse
from xrec.catalog import RECOMMENDATION_CANDIDATES
from xrec.publish.report import _status
from xrec.steps.model import score_candidates, train_and_evaluate
from xrec.steps.registry import load_published_ranker, record_run
from xrec_tools.synthetic import SyntheticSize


def _candidates_table(settings) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute("select * from main.model_candidates order by candidate").df()


def test_planted_structure_beats_popularity(trained):
    _, run, _ = trained
    assert run.ranker == "lightfm" and run.primary_metric == "cross_domain.precision_at_k"
    assert run.primary_value >= 2 * run.baseline_value
    assert run.metrics["cold_start_items"]["auc"] >= 0.70
    assert run.metrics["cold_start_items"]["items"] > 0
    for m in run.metrics["platform_to_partner"].values():
        assert {"precision_at_k", "recall_at_k", "ndcg_at_k", "auc", "coverage", "diversity"} <= set(m)
    assert run.is_promoted and not run.is_published
    assert "test split" in run.evaluation and run.tuned_on == RUN_DATE


def test_every_candidate_is_recorded_and_the_choice_is_the_best_on_validation(trained):
    settings, run, _ = trained
    table = _candidates_table(settings)
    lightfm = table[table["ranker"] == "lightfm"]
    assert set(lightfm["representation"]) == {"features", "collaborative", "hybrid"}
    assert set(lightfm["weighting"]) == {"decayed", "binary"}
    assert set(lightfm["learning_rate"]) == set(settings.tune_learning_rates)
    assert len(table[table["ranker"] == POPULARITY]) == 1 and table["is_selected"].sum() == 1
    chosen = table[table["is_selected"]].iloc[0]
    assert chosen["validation_value"] == lightfm["validation_value"].max()
    assert (chosen["representation"], chosen["weighting"], chosen["learning_rate"]) == (
        run.params["representation"],
        run.params["weighting"],
        run.params["learning_rate"],
    )
    assert lightfm["epochs"].isin([3, 6, 10, 15, 20]).all()  # the checks (XREC_EPOCHS=20 here)
    assert table[["validation_value", "test_value"]].notna().all().all()


def test_model_run_row_and_artifact(trained):
    settings, run, rows = trained
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        row = con.execute("select * from main.model_runs").df()
    assert len(row) == 1 and row.loc[0, "model_version"] == run.model_version
    assert run.model_version.startswith("20260301-") and row.loc[0, "ranker"] == "lightfm"
    assert row.loc[0, "is_promoted"] and not row.loc[0, "is_published"]
    folder = settings.artifacts / "models" / run.model_version
    assert {p.name for p in folder.iterdir()} == {"model.pkl", "id_maps.json", "metrics.json", "ranker.json"}
    assert rows == len(candidates(settings))


def test_rerun_is_deterministic_whatever_the_threads(tmp_path, trained):
    settings, run, _ = trained  # threads: one per CPU (candidates, champion and published fit side by side)
    again = make_warehouse(tmp_path, XREC_SCORE_THREADS="1")  # same seed, same data, all in turn
    rerun = train_and_evaluate(again, RUN_DATE)
    score_candidates(again, RUN_DATE)
    assert rerun.model_version == run.model_version
    assert rerun.metrics == run.metrics
    first, second = candidates(settings), candidates(again)
    pd.testing.assert_frame_equal(first.drop(columns="generated_at"), second.drop(columns="generated_at"))
    pd.testing.assert_frame_equal(
        _candidates_table(settings).drop(columns=["fit_seconds", "selection_seconds"]),
        _candidates_table(again).drop(columns=["fit_seconds", "selection_seconds"]),
    )


def test_next_days_reuse_the_stored_selection_until_it_is_due_or_drifted(tmp_path):
    settings = make_warehouse(tmp_path, XREC_TUNE_EVERY_DAYS="3")
    day = [RUN_DATE + timedelta(days=n) for n in range(6)]
    first = train_and_evaluate(settings, day[0])
    second = train_and_evaluate(settings, day[1])
    assert second.tuned_on == day[0] and "reused the selection" in second.decision_reason
    assert second.params == first.params
    # drift: the choice beat popularity on its tuning day, not on the last run -> tune again
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("update main.model_runs set model_value = baseline_value where run_date = ?", [day[1]])
    assert train_and_evaluate(settings, day[2]).tuned_on == day[2]
    assert train_and_evaluate(settings, day[3]).tuned_on == day[2]
    assert train_and_evaluate(settings, day[5]).tuned_on == day[5]  # 3 days after: due
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        tunings = con.execute("select distinct run_date from main.model_candidates order by 1").fetchall()
    assert [d for (d,) in tunings] == [day[0], day[2], day[5]]


def test_gate_refuses_a_regressed_champion_and_clears_candidates(tmp_path, trained):
    _, good, _ = trained
    settings = make_warehouse(tmp_path)
    with duckdb.connect(str(settings.warehouse)) as con:  # yesterday's published champion was far better
        con.execute(RECOMMENDATION_CANDIDATES.ddl())
        con.execute("insert into main.recommendation_candidates (run_date, item_id) values (?, 'stale')", [RUN_DATE])
    record_run(settings, replace(good, run_date=RUN_DATE - timedelta(days=1), primary_value=0.99, is_published=True))
    run = train_and_evaluate(settings, RUN_DATE)
    assert not run.is_promoted and "regressed" in run.decision_reason
    assert run.previous_value == 0.99
    assert score_candidates(settings, RUN_DATE) == 0
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from main.recommendation_candidates").fetchone()[0] == 0
    published = load_published_ranker(settings)  # yesterday's stays current
    assert published.run.run_date == RUN_DATE - timedelta(days=1) and published.model is not None


def test_gate_blocks_only_a_regression():
    assert promotion_decision(0.30, None, 0.10)[0]
    assert promotion_decision(0.28, 0.30, 0.10)[0]  # -6.7% is within tolerance
    refused, reason = promotion_decision(0.20, 0.30, 0.10)
    assert not refused and "regressed" in reason


def _popularity_world(root):
    """The synthetic warehouse with every interaction redrawn from a steep global popularity of
    its catalogue: nothing personal to learn, so popularity is the best ranker there is."""
    settings = make_warehouse(root)
    with duckdb.connect(str(settings.warehouse)) as con:
        items = con.execute("select item_key, source from marts.ml_items order by item_key").df()
        inter = con.execute("select * from marts.ml_interactions order by person_id, item_key").df()
        rng = np.random.default_rng(7)
        source = inter["item_key"].str.split(":").str[0]
        for name, members in items.groupby("source")["item_key"]:
            rows = np.flatnonzero(source == name)
            weights = 1.0 / np.arange(1, len(members) + 1) ** 1.2
            inter.loc[rows, "item_key"] = rng.choice(members.to_numpy(), len(rows), p=weights / weights.sum())
        inter = inter.drop_duplicates(["person_id", "item_key"])
        con.register("redrawn", inter)
        con.execute("create or replace table marts.ml_interactions as select * from redrawn")
    return settings


def test_when_popularity_wins_popularity_is_published_with_rules_and_ab_split(tmp_path):
    settings = _popularity_world(tmp_path)
    run = train_and_evaluate(settings, RUN_DATE)
    assert run.ranker == POPULARITY and run.is_promoted
    assert run.primary_value == run.baseline_value >= run.model_value
    assert "popularity" in run.decision_reason
    assert not (settings.artifacts / "models" / run.model_version / "model.pkl").exists()
    rows = score_candidates(settings, RUN_DATE)
    out = candidates(settings)
    assert rows == len(out) > 0 and set(out["variant"]) == {"model", "control"}
    assert out["reason"].str.contains("popular with ").all()  # ml.explain: popularity says so
    # both arms rank by the same popularity: an item scores the same for every recipient
    assert out.groupby(["direction", "partner", "item_id"])["score"].nunique().max() == 1
    assert out.groupby(["direction", "partner", "recipient_id"])["rank"].max().max() <= settings.top_k
    with duckdb.connect(str(settings.warehouse)) as con:  # as xrec.publish marks it after the output gate
        con.execute("update main.model_runs set is_published = true")
        published, sentence = _status(con, RUN_DATE)
    assert published and "popularity ranking" in sentence and "at least as good as LightFM" in sentence


def test_published_epochs_come_from_the_curve_and_scale_with_rows_for_features_only():
    from ml.config import ModelConfig
    from ml.pipeline import published_epochs
    from ml.select import enough_epochs

    # a validation curve that is within 2% of its best from 10 epochs on
    curve = {5: 0.150, 10: 0.196, 15: 0.199, 20: 0.200, 25: 0.198}
    assert enough_epochs(curve, 0.02) == 10 and enough_epochs(curve, 0.0) == 20
    features, hybrid = (
        ModelConfig(representation="features", epochs=20),
        ModelConfig(representation="hybrid", epochs=20),
    )
    assert published_epochs(hybrid, 10, 413_000, 5_543_000) == 10  # identity: the curve's count, not 20
    assert published_epochs(features, 25, 413_000, 5_543_000) == 2  # 1.86 rounded up: never fewer updates
    assert published_epochs(features, 25, 1_000, 1_000) == 25  # no sample: the curve's count
    assert published_epochs(features, 10, 10, 10_000_000) == 1


def test_selection_records_each_candidates_curve_and_why_it_stopped(trained):
    settings, run, _ = trained
    table = _candidates_table(settings)
    lightfm = table[table["ranker"] == "lightfm"]
    for row in lightfm.itertuples():
        curve = {int(e): v for e, v in json.loads(row.curve).items()}
        assert sorted(curve) == [e for e in (3, 6, 10, 15, 20) if e <= row.trained_epochs]  # every check it had
        assert curve[row.epochs] == max(curve.values()) == pytest.approx(row.validation_value, abs=1e-6)
        assert row.enough_epochs <= row.epochs and row.stopped
    # successive halving: after the first check only the better half of the grid trains on
    assert 0 < (lightfm["trained_epochs"] > 3).sum() <= len(lightfm) / 2
    assert lightfm["stopped"].str.contains("ranked").any()
    chosen = lightfm[lightfm["is_selected"]].iloc[0]
    assert chosen["representation"] != "features"  # an identity choice publishes the curve's epochs
    assert run.params["epochs"] == chosen["enough_epochs"] <= chosen["epochs"]


def test_halving_keeps_the_best_candidate_of_the_full_grid(trained):
    from ml.dataset import Marts
    from ml.select import select_model
    from xrec.steps.marts import load_marts
    from xrec.steps.model import selection_config

    settings, _, _ = trained
    halved = _candidates_table(settings)
    marts: Marts = load_marts(settings)
    full = select_model(marts, RUN_DATE, replace(selection_config(settings), keep_fraction=1.0)).candidates
    full_best = full.loc[full["ranker"] == "lightfm", "validation_value"].max()
    chosen = halved.loc[halved["is_selected"], "validation_value"].iloc[0]
    assert chosen >= 0.98 * full_best, (chosen, full_best)
    assert halved["trained_epochs"].sum() < full["trained_epochs"].sum()


def test_champion_is_evaluated_on_the_seeded_sample_and_the_published_fit_on_everyone(tmp_path):
    settings = make_warehouse(tmp_path, XREC_TUNE_SAMPLE_PERSONS="400")
    run = train_and_evaluate(settings, RUN_DATE)
    assert "seeded sample of 400 of " in run.evaluation, run.evaluation
    persons = int(run.evaluation.split("seeded sample of 400 of ")[1].split()[0])
    assert persons >= SyntheticSize().persons  # the published model is trained on everyone
