"""Business rules: the items a recipient may be ranked, and the per-category cap of a list.

A recipient never gets an inactive item, a finance product riskier than their risk_tolerance, a
listing of a city-bound source outside their (known) city: those items are not ranked for them
at all (`eligible_groups`); nor an item they already interacted with: its score is set to -inf
(`mask_owned`), dropped when the frame is built. `capped_top_k` then ranks with at most `cap`
items per category in a recipient's list.
"""

from __future__ import annotations

import math
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


@dataclass(frozen=True)
class Eligible:
    """Recipients who share the person attributes the catalogue-wide rules read (risk tolerance,
    city) and the items those rules leave them: active, no riskier than the tolerance, in the
    person's city when city-bound."""

    rows: np.ndarray  # positions in the ranked user_rows
    items: np.ndarray  # item indices in the whole item space, ascending


def eligible_groups(user_rows: np.ndarray, items: slice, rules: RuleContext) -> list[Eligible]:
    """The recipients of `user_rows` grouped so that each group ranks only the items of `items` it
    may get. The rules are applied by leaving items out rather than by masking their scores: a
    realty user sees the listings of one of 14 cities, a finance user the products of their risk
    grade and below, so the ranker computes a fraction of the cells (at M about a third fewer).
    A rule the item range has no item for (no city-bound or risk-graded item) does not split."""
    active = rules.is_active[items]
    item_risk, item_city = rules.item_risk[items], rules.item_city[items]
    no_key = np.zeros(len(user_rows))
    risky, bound = bool((item_risk > 0).any()), bool((item_city >= 0).any())
    keys = np.column_stack(
        [
            rules.person_risk[user_rows] if risky else no_key,
            rules.person_city[user_rows] if bound else no_key,
        ]
    )
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    members = np.split(order, np.cumsum(np.bincount(inverse, minlength=len(unique)))[:-1])
    groups = []
    for (risk, city), rows in zip(unique, members, strict=True):
        allowed = active.copy()
        if risky:
            allowed &= ~(item_risk > risk)
        if bound and city >= 0:
            allowed &= (item_city < 0) | (item_city == city)
        groups.append(Eligible(rows, np.flatnonzero(allowed) + items.start))
    return groups


def mask_owned(scores: np.ndarray, user_rows: np.ndarray, items: np.ndarray, rules: RuleContext) -> None:
    """Set to -inf (in place) the score of every item a person already has: `scores[i, j]` is
    user_rows[i]'s score of item items[j] (`items` ascending)."""
    # The stored entries of the rows, read from the CSR arrays: slicing the matrix by rows, then
    # by columns, then to COO built three sparse matrices, a third of a one-person request's CPU.
    indptr = rules.owned.indptr
    starts, counts = indptr[user_rows], indptr[user_rows + 1] - indptr[user_rows]
    row = np.repeat(np.arange(len(user_rows)), counts)
    column = rules.owned.indices[np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())]
    position = np.minimum(np.searchsorted(items, column), len(items) - 1)
    inside = items[position] == column if len(items) else np.zeros(len(column), bool)
    scores[row[inside], position[inside]] = -np.inf


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(column indices, scores) of each row's k best, best first."""
    columns, costs = _cheapest(-scores, k)
    return columns, -costs


def _cheapest(costs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(column indices, costs) of each row's k smallest, smallest first.

    A row's columns are dealt into `width` groups of `size` (group j: columns j, j + width, ...);
    the k groups with the smallest minima hold at least k costs at or under the k-th smallest
    minimum, so every cost outside them ties or loses, and only their k * size columns (plus the
    few left over by the deal) are partitioned. The minima are an elementwise minimum of `size`
    contiguous slices, which numpy vectorises. On 5k-20k columns and k = 40 this is 2-3x faster
    than argpartition over the whole row (ns per cell, measured here).
    """
    n = costs.shape[1]
    k = min(k, n)
    size = max(1, round(math.sqrt(n / max(k, 1))))
    width = n // size
    if k == 0 or width < 4 * k:
        return _cheapest_by_partition(costs, k)
    dealt = size * width
    minima = costs[:, :dealt].reshape(len(costs), size, width).min(axis=1)
    groups = np.argpartition(minima, k - 1, axis=1)[:, :k]
    columns = (groups[:, :, None] + width * np.arange(size)).reshape(len(costs), k * size)
    if dealt < n:
        columns = np.hstack([columns, np.broadcast_to(np.arange(dealt, n), (len(costs), n - dealt))])
    picked, values = _cheapest_by_partition(np.take_along_axis(costs, columns, axis=1), k)
    return np.take_along_axis(columns, picked, axis=1), values


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
