from dataclasses import replace
from unittest.mock import patch

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from threadpoolctl import threadpool_info

from ml.ab import is_control
from ml.dataset import build_dataset, known_interactions
from ml.embeddings import map_blocks, model_embeddings, row_blocks
from ml.rules import build_rule_context
from ml.score import recommend
from tests.ml.conftest import candidates, greedy_capped
from xrec.steps.marts import load_marts
from xrec.steps.registry import load_artifact


def _context(trained):
    settings, run, _ = trained
    marts = load_marts(settings)
    interactions = known_interactions(marts)
    dataset = build_dataset(marts, interactions, run.config.representation)
    model, _ = load_artifact(run.artifact_path)
    return settings, marts, interactions, dataset, model


def test_scores_equal_lightfm_predict(trained):
    _, _, _, dataset, model = _context(trained)
    rng = np.random.default_rng(0)
    users = rng.integers(0, len(dataset.person_ids), 500).astype(np.int32)
    items = rng.integers(0, len(dataset.item_keys), 500).astype(np.int32)
    embeddings = model_embeddings(model, dataset)
    ours = (embeddings.users[users] * embeddings.items[items]).sum(axis=1)
    expected = model.predict(users, items, user_features=dataset.user_features, item_features=dataset.item_features)
    assert np.allclose(ours, expected, rtol=1e-4, atol=1e-4)


def test_ranking_on_several_threads_gives_the_same_lists(trained):
    _, _, interactions, dataset, model = _context(trained)
    owned = dataset.interaction_matrices(interactions)[0]
    embeddings, rules = model_embeddings(model, dataset), build_rule_context(dataset, owned)
    users = np.arange(len(dataset.person_ids))
    items = dataset.domain("realty")
    with patch("ml.embeddings.BLOCK_CELLS", 7 * (items.stop - items.start)):  # many small blocks
        one = recommend(embeddings, users, items, rules, k=10, cap=4, threads=1)
        three = recommend(embeddings, users, items, rules, k=10, cap=4, threads=3)
    assert np.array_equal(one[0], three[0]) and np.array_equal(one[1], three[1])


def _allowed_by_every_rule(embeddings, rules, users, items) -> np.ndarray:
    """Reference: every user x item score of the range, -inf where a rule forbids it, one rule
    at a time over the dense matrix."""
    scores = embeddings.users[users] @ embeddings.items[items].T
    person_city, item_city = rules.person_city[users][:, None], rules.item_city[items][None, :]
    forbidden = (
        ~rules.is_active[items][None, :]
        | (rules.owned[users][:, items].toarray() > 0)
        | (rules.item_risk[items][None, :] > rules.person_risk[users][:, None])
        | ((item_city >= 0) & (person_city >= 0) & (item_city != person_city))
    )
    return np.where(forbidden, -np.inf, scores)


@pytest.mark.parametrize("partner", ["realty", "finance", "platform"])
def test_lists_rank_exactly_the_items_the_rules_allow(trained, partner):
    # Scoring leaves forbidden items out per group of recipients instead of masking their
    # scores: the lists must be the greedy capped ranking of the allowed items of the full
    # matrix, including people of unknown city and people no finance product suits.
    _, _, interactions, dataset, model = _context(trained)
    owned = dataset.interaction_matrices(interactions)[0]
    embeddings, rules = model_embeddings(model, dataset), build_rule_context(dataset, owned)
    users = np.arange(len(dataset.person_ids))
    rules = replace(
        rules,
        person_city=np.where(users % 7 == 0, -1, rules.person_city),
        person_risk=np.where(users % 11 == 0, 0, rules.person_risk).astype(np.float32),
    )
    items = dataset.domain(partner)
    top, scores = recommend(embeddings, users, items, rules, k=10, cap=4, threads=2)
    reference = _allowed_by_every_rule(embeddings, rules, users, items)
    category = rules.category[items]
    for row in range(len(users)):
        greedy = greedy_capped(reference[row], category, k=10, cap=4)
        listed = np.isfinite(scores[row])
        assert listed.sum() == len(greedy)
        # by value: near-equal scores of two items may rank either way after a different matmul
        assert np.allclose(scores[row][listed], reference[row][greedy], rtol=1e-5, atol=1e-6)
        picked = top[row][listed] - items.start
        assert np.isfinite(reference[row][picked]).all()
        assert np.allclose(reference[row][picked], scores[row][listed], rtol=1e-5, atol=1e-6)
        assert np.bincount(category[picked]).max(initial=0) <= 4
    if partner == "finance":
        assert np.isneginf(scores[users % 11 == 0]).all()  # no product is as safe as tolerance 0


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_blocks_ranked_on_several_threads_use_one_blas_thread_each():
    # our threads and OpenBLAS's (one per CPU) beside them oversubscribed the cores at M
    before = _blas_threads()
    seen = map_blocks(lambda block: _blas_threads(), row_blocks(6, 1 << 23), threads=2)
    assert seen == [[1] * len(before)] * 3
    assert _blas_threads() == before


def test_candidates_respect_business_rules(trained):
    settings, marts, interactions, _, _ = _context(trained)
    out = candidates(settings)
    assert len(out) > 0
    source = np.where(out["direction"] == "platform_to_partner", out["partner"], "platform")
    out = out.assign(item_key=source + ":" + out["item_id"])
    items = marts.items.set_index("item_key")
    persons = marts.persons.set_index("person_id")
    assert out["item_key"].isin(items.index[items["is_active"]]).all()
    owned = out.merge(interactions, on=["person_id", "item_key"])
    assert owned.empty
    risk = items.loc[out["item_key"], "risk_level"].to_numpy(float)
    tolerance = persons.loc[out["person_id"], "risk_tolerance"].to_numpy(float)
    assert not (risk > tolerance).any()
    realty = out[out["item_key"].str.startswith("realty:")]
    item_city = items.loc[realty["item_key"], "city"].to_numpy(object)
    person_city = persons.loc[realty["person_id"], "city"].to_numpy(object)
    known = pd.notna(person_city)
    assert (item_city[known] == person_city[known]).all()
    per_category = (
        out.assign(category=items.loc[out["item_key"], "category"].to_numpy())
        .groupby(["direction", "partner", "recipient_id", "category"])
        .size()
    )
    assert per_category.max() <= settings.max_per_category


def test_ranks_are_dense_and_variants_stable(trained):
    settings, marts, _, _, _ = _context(trained)
    out = candidates(settings)
    groups = out.groupby(["direction", "partner", "recipient_id"])["rank"]
    assert (groups.min() == 1).all()
    assert (groups.max() == groups.count()).all() and (groups.max() <= settings.top_k).all()
    assert not out.duplicated(["direction", "partner", "recipient_id", "item_id"]).any()
    control = out[out["variant"] == "control"]
    assert 0 < len(control) < len(out) / 3
    expected = is_control("realty", pd.Series(["u1", "u2"]), 0.5)
    assert (expected == is_control("realty", pd.Series(["u1", "u2"]), 0.5)).all()
    sample = out.drop_duplicates(["partner", "recipient_id"])
    flags = np.concatenate(
        [is_control(p, g["recipient_id"], settings.control_share) for p, g in sample.groupby("partner")]
    )
    assert flags.sum() == (sample.sort_values("partner")["variant"] == "control").sum()


def test_every_recipient_is_scored_including_cold_ones(trained):
    settings, marts, interactions, _, _ = _context(trained)
    out = candidates(settings)
    platform = marts.recipients[marts.recipients["recipient_source"] == "platform"]
    scored = out.loc[out["direction"] == "platform_to_partner", "recipient_id"].unique()
    assert set(platform["recipient_id"]) == set(scored)
    customers = marts.recipients[marts.recipients["recipient_source"] == "home"]
    cold = customers[~customers["person_id"].isin(interactions["person_id"])]
    home = out[(out["direction"] == "partner_to_platform") & (out["partner"] == "home")]
    assert set(customers["recipient_id"]) == set(home["recipient_id"])
    assert set(cold["recipient_id"]) <= set(home["recipient_id"])


def test_scoring_in_small_blocks_writes_the_same_rows(trained):
    """Candidates are built and written a block of recipients at a time: the block size changes
    neither the lists nor their reasons."""
    from xrec.steps.model import score_candidates

    settings, run, rows = trained
    whole = candidates(settings).drop(columns="generated_at")
    with patch("ml.score.FRAME_RECIPIENTS", 7):
        assert score_candidates(settings, run.run_date) == rows
    blocks = candidates(settings).drop(columns="generated_at")
    pd.testing.assert_frame_equal(whole, blocks)
    assert whole["reason"].str.len().min() > 0 and whole["reason_items"].str.startswith("[").all()


def test_writing_candidates_keeps_the_thread_count_of_other_connections(trained):
    """The candidates are inserted on one DuckDB thread; a connection the process holds on the
    warehouse (it shares the database instance and its settings) keeps its own thread count."""
    from xrec.steps.model import write_candidates
    from xrec.warehouse import connect

    settings, run, rows = trained
    before = candidates(settings)
    with connect(settings) as held:
        held.execute("set threads = 3")
        assert write_candidates(settings, run.run_date, [pa.Table.from_pandas(before, preserve_index=False)]) == rows
        assert held.execute("select current_setting('threads'), current_setting('force_compression')").fetchone() == (
            3,
            "auto",
        )
    pd.testing.assert_frame_equal(candidates(settings), before)


def test_a_failed_scoring_keeps_the_day_and_leaves_no_staged_file(trained):
    """Blocks are staged in a file beside the warehouse: a run failing midway leaves the day's
    candidates as they were and removes the file (it names persons, and erasure never sees it)."""
    from xrec.steps.model import write_candidates

    settings, run, _ = trained
    before = candidates(settings)

    def failing():
        yield pa.Table.from_pandas(before.head(3), preserve_index=False)
        raise RuntimeError("ranking failed")

    with pytest.raises(RuntimeError, match="ranking failed"):
        write_candidates(settings, run.run_date, failing())
    pd.testing.assert_frame_equal(candidates(settings), before)
    assert list(settings.warehouse.parent.glob("recommendation_candidates_staging_*")) == []
