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
    """Set to -inf (in place) every score of `scores[user_rows, items]` a rule forbids."""
    scores[:, ~rules.is_active[items]] = -np.inf
    owned = rules.owned[user_rows][:, items].tocoo()
    scores[owned.row, owned.col] = -np.inf

    risky = np.flatnonzero(rules.item_risk[items] > 0)
    if len(risky):
        too_risky = rules.item_risk[items][risky][None, :] > rules.person_risk[user_rows][:, None]
        block = scores[:, risky]
        block[too_risky] = -np.inf
        scores[:, risky] = block

    bound = np.flatnonzero(rules.item_city[items] >= 0)
    if len(bound):
        person_city = rules.person_city[user_rows][:, None]
        elsewhere = (person_city >= 0) & (rules.item_city[items][bound][None, :] != person_city)
        block = scores[:, bound]
        block[elsewhere] = -np.inf
        scores[:, bound] = block


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(column indices, scores) of each row's k best, best first (argpartition, then sort k)."""
    k = min(k, scores.shape[1])
    if k == 0:
        empty = np.empty((scores.shape[0], 0))
        return empty.astype(np.int64), empty.astype(scores.dtype)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    values = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(values, order, axis=1)


def capped_top_k(scores: np.ndarray, category: np.ndarray, k: int, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k per row with at most `cap` columns of one category (category[j] of column j).

    Exact and loop-free over rows: the capped top-k is the top-k of the union of each
    category's own top-`cap`, so we take those per category (few categories) and rank them.
    """
    if cap >= k:
        return top_k(scores, k)
    columns, values = [], []
    for code in np.unique(category):
        members = np.flatnonzero(category == code)
        idx, val = top_k(scores[:, members], cap)
        columns.append(members[idx])
        values.append(val)
    pooled_columns, pooled_values = np.hstack(columns), np.hstack(values)
    idx, val = top_k(pooled_values, k)
    return np.take_along_axis(pooled_columns, idx, axis=1), val
