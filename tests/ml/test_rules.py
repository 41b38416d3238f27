"""Ranking rules: the capped top-k and the top-k it is built on, against plain sorting."""

import numpy as np
import pytest

from ml.rules import capped_top_k, top_k
from tests.ml.conftest import greedy_capped


@pytest.mark.parametrize(
    "items, categories, masked_share, skew",
    [
        (30, 3, 0.0, 0.0),  # pool = whole row
        (400, 6, 0.0, 0.0),  # the walk ends inside the pool
        (400, 6, 0.9, 0.0),  # most items masked: short rows end in -inf
        (400, 6, 0.0, 5.0),  # one category dominates the top: rows fall back to the exact path
        (4000, 6, 0.0, 0.0),  # wide rows: the pool comes from the dealt groups and the leftover columns
        (4000, 6, 0.97, 0.0),  # wide rows, mostly masked: groups of only -inf are picked too
    ],
)
def test_capped_top_k_is_the_greedy_capped_ranking(items, categories, masked_share, skew):
    rng = np.random.default_rng(3)
    category = rng.integers(0, categories, items)
    scores = rng.normal(size=(60, items)).astype(np.float32) + skew * (category == 0)
    scores[rng.random(scores.shape) < masked_share] = -np.inf
    top, values = capped_top_k(scores.copy(), category, k=6, cap=2)
    for row in range(len(scores)):
        taken = greedy_capped(scores[row], category, k=6, cap=2)
        assert list(top[row][: len(taken)]) == taken
        assert np.isneginf(values[row][len(taken) :]).all()
        assert np.array_equal(values[row][: len(taken)], scores[row][taken])


@pytest.mark.parametrize("masked_share", [0.0, 0.5, 0.995])
def test_top_k_equals_a_full_sort(masked_share):
    rng = np.random.default_rng(5)
    scores = rng.normal(size=(200, 5000)).astype(np.float32)
    scores[rng.random(scores.shape) < masked_share] = -np.inf
    scores[:3] = 0.5  # rows of ties
    columns, values = top_k(scores, 40)
    expected = -np.sort(-scores, axis=1)[:, :40]
    assert np.array_equal(values, expected)
    assert np.array_equal(np.take_along_axis(scores, columns, axis=1), values)
    assert all(len(set(row)) == 40 for row in columns)
