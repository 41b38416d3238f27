"""Business rules applied to a block of scores before ranking.

Scores of items a recipient must not get are set to -inf (dropped when the frame is built):
items the person already interacted with, inactive items, finance products riskier than the
person's risk_tolerance, and listings of city-bound sources outside the person's (known) city.
`capped_top_k` then ranks with at most `cap` items per category in a recipient's list.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.dataset import RecDataset

# Sources whose items are tied to a place: a listing in another city is no use to the person.
CITY_BOUND_SOURCES = ("realty",)
# A person without a stated risk_tolerance only gets the lowest-risk products.
DEFAULT_RISK_TOLERANCE = 1
# capped_top_k walks each row's uncapped top POOL_FACTOR * k; at M (cap 4 of k 10) the walk
# ends inside that pool for all but a few rows.
POOL_FACTOR = 4
# _cheapest bounds each row's k-th smallest cost from every SAMPLE_STRIDE-th column.
SAMPLE_STRIDE = 16


@dataclass(frozen=True)
class RuleContext:
    """Per-person and per-item attributes the rules need, aligned with the dataset indices."""

    owned: sp.csr_matrix  # persons x items, nonzero = already interacted
    person_risk: np.ndarray  # float32 risk_tolerance
    item_risk: np.ndarray  # float32 risk_level, 0 where the item has none
    person_city: np.ndarray  # int city code, -1 unknown
    item_city: np.ndarray  # int city code, -1 where the item is not city-bound
    is_active: np.ndarray  # bool
    category: np.ndarray  # int category code


def build_rule_context(dataset: RecDataset, owned: sp.spmatrix) -> RuleContext:
    """Encode the rule attributes of `dataset`; `owned` is the persons x items interaction matrix."""
    persons, items = dataset.persons, dataset.items
    cities = pd.Index(pd.concat([persons["city"], items["city"]]).dropna().unique())
    city_bound = items["source"].isin(CITY_BOUND_SOURCES).to_numpy()
    item_city = np.where(city_bound, cities.get_indexer(items["city"]), -1)
    return RuleContext(
        owned=sp.csr_matrix(owned, dtype=np.float32),
        person_risk=persons["risk_tolerance"].fillna(DEFAULT_RISK_TOLERANCE).to_numpy(np.float32),
        item_risk=items["risk_level"].fillna(0).to_numpy(np.float32),
        person_city=cities.get_indexer(persons["city"]),
        item_city=item_city,
        is_active=items["is_active"].fillna(False).to_numpy(bool),
        category=pd.factorize(items["category"])[0],
    )


def mask_ineligible(scores: np.ndarray, user_rows: np.ndarray, items: slice, rules: RuleContext) -> None:
    """Set to -inf (in place) every score of `scores[user_rows, items]` a rule forbids.

    Dense rules are broadcast comparisons written with `np.putmask`: 1.2 ns/cell against 6.2 for
    copying the affected columns out, masking and writing them back (20k-item blocks, this machine).
    """
    scores[:, ~rules.is_active[items]] = -np.inf
    # The stored entries of the rows, read from the CSR arrays: slicing the matrix by rows, then
    # by columns, then to COO built three sparse matrices, a third of a one-person request's CPU.
    indptr = rules.owned.indptr
    starts, counts = indptr[user_rows], indptr[user_rows + 1] - indptr[user_rows]
    row = np.repeat(np.arange(len(user_rows)), counts)
    column = rules.owned.indices[np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())]
    inside = (column >= items.start) & (column < items.stop)
    scores[row[inside], column[inside] - items.start] = -np.inf
    item_risk = rules.item_risk[items]
    if (item_risk > 0).any():
        np.putmask(scores, item_risk[None, :] > rules.person_risk[user_rows][:, None], -np.inf)
    item_city = rules.item_city[items]
    if (item_city >= 0).any():
        person_city = rules.person_city[user_rows][:, None]
        elsewhere = (item_city[None, :] >= 0) & (person_city >= 0) & (item_city[None, :] != person_city)
        np.putmask(scores, elsewhere, -np.inf)


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(column indices, scores) of each row's k best, best first."""
    columns, costs = _cheapest(-scores, k)
    return columns, -costs


def _cheapest(costs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(column indices, costs) of each row's k smallest, smallest first.

    A row's k-th smallest cost in every SAMPLE_STRIDE-th column bounds its true k-th smallest
    from above, so only the columns at or under that bound (about SAMPLE_STRIDE * k) are ranked
    exactly. On M's blocks (20k items, k = 40) this is 2-3x faster than argpartition over the
    whole row; rows the bound does not narrow (mostly masked rows) are partitioned whole.
    """
    n = costs.shape[1]
    k = min(k, n)
    if k == 0 or n < 8 * SAMPLE_STRIDE * k:
        return _cheapest_by_partition(costs, k)
    bound = np.partition(costs[:, ::SAMPLE_STRIDE], k - 1, axis=1)[:, k - 1]
    within = costs <= bound[:, None]
    counts = within.sum(axis=1)
    narrowed = counts <= n // 8
    columns = np.empty((len(costs), k), np.int64)
    values = np.empty((len(costs), k), costs.dtype)
    if not narrowed.all():
        columns[~narrowed], values[~narrowed] = _cheapest_by_partition(costs[~narrowed], k)
    if narrowed.any():
        rows = np.flatnonzero(narrowed)
        pool_row, pool_column = np.nonzero(within[rows])
        counts = counts[rows]
        slot = np.arange(len(pool_row)) - np.repeat(np.cumsum(counts) - counts, counts)
        pool_columns = np.zeros((len(rows), counts.max()), np.int64)
        pool_costs = np.full((len(rows), counts.max()), np.inf, costs.dtype)
        pool_columns[pool_row, slot] = pool_column
        pool_costs[pool_row, slot] = costs[rows[pool_row], pool_column]
        picked, values[rows] = _cheapest_by_partition(pool_costs, k)
        columns[rows] = np.take_along_axis(pool_columns, picked, axis=1)
    return columns, values


def _cheapest_by_partition(costs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """`_cheapest` by argpartition over whole rows, then a sort of the k.

    Ranks by negated score because argpartition is slow for the k largest when most values tie
    at the bottom: 162 ns/cell against 9 with 90% of a block masked to -inf (measured here).
    """
    if k == 0:
        empty = np.empty((costs.shape[0], 0))
        return empty.astype(np.int64), empty.astype(costs.dtype)
    part = np.argpartition(costs, k - 1, axis=1)[:, :k]
    values = np.take_along_axis(costs, part, axis=1)
    order = np.argsort(values, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(values, order, axis=1)


def capped_top_k(scores: np.ndarray, category: np.ndarray, k: int, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k per row with at most `cap` columns of one category (category[j] of column j);
    -inf values trail a row with fewer than k allowed columns. `scores` is scratch: it is
    negated in place, which spares a copy of the block.

    The capped ranking walks a row best first and skips a category once it holds `cap`. We walk
    only each row's uncapped top POOL_FACTOR * k (one argpartition, what a plain top-k costs);
    the rare rows whose walk does not end inside that pool are ranked exactly per category.
    """
    costs = np.negative(scores, out=scores)
    if cap >= k:
        columns, best = _cheapest(costs, k)
        return columns, -best
    k = min(k, costs.shape[1])
    pool_columns, pool_costs = _cheapest(costs, POOL_FACTOR * k)
    allowed = _within_cap(category[pool_columns], cap) & np.isfinite(pool_costs)
    picked = np.argsort(~allowed, axis=1, kind="stable")[:, :k]  # first k allowed, in pool order
    columns = np.take_along_axis(pool_columns, picked, axis=1)
    values = -np.take_along_axis(pool_costs, picked, axis=1)
    taken = allowed.sum(axis=1)
    values[np.arange(k)[None, :] >= taken[:, None]] = -np.inf
    # A short row is final when its pool holds every finite score (the pool ends in +inf cost).
    pool_is_partial = pool_columns.shape[1] < costs.shape[1]
    unfinished = np.flatnonzero((taken < k) & np.isfinite(pool_costs[:, -1]) & pool_is_partial)
    if len(unfinished):
        columns[unfinished], values[unfinished] = _capped_by_category(costs[unfinished], category, k, cap)
    return columns, values


def _within_cap(pool_category: np.ndarray, cap: int) -> np.ndarray:
    """True where an entry is at most the `cap`-th of its category in its row (rows best first)."""
    codes = np.unique(pool_category, return_inverse=True)[1].reshape(pool_category.shape)
    running = np.cumsum(codes[:, :, None] == np.arange(codes.max(initial=0) + 1), axis=1)
    return np.take_along_axis(running, codes[:, :, None], axis=2)[:, :, 0] <= cap


def _capped_by_category(costs: np.ndarray, category: np.ndarray, k: int, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact capped top-k by cost: the k cheapest of the union of each category's `cap` cheapest."""
    columns, values = [], []
    for code in np.unique(category):
        members = np.flatnonzero(category == code)
        idx, val = _cheapest(costs[:, members], cap)
        columns.append(members[idx])
        values.append(val)
    pooled_columns, pooled_costs = np.hstack(columns), np.hstack(values)
    idx, val = _cheapest(pooled_costs, k)
    return np.take_along_axis(pooled_columns, idx, axis=1), -val
