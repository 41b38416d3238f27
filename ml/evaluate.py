"""Offline evaluation on a time split, per direction, plus the cross-domain case.

Split (train / validation / test): interactions first seen in the last `holdout_days` before
run_date are the test window, those of the `holdout_days` before it the validation window;
each model is trained on what came before its window. On top, half of the persons known on both
sides (hash-selected, stable) have ALL their partner history hidden: the cross-domain test asks
a model to find it from their platform behaviour alone, so all of their platform behaviour up to
run_date is training data, as it is when a platform user is scored for a partner they have never
used. That cohort is halved again: one half is the validation cohort, the other the test cohort,
so the selection never sees the test's answers.

Metrics are computed on the raw model ranking within the target catalogue (a partner's items, or
the platform's courses), training positives excluded; business rules are not applied, so the
model and the popularity baseline are compared on the same ground. `lightfm.evaluation` ranks
against the whole item space, which mixes catalogues, so ranking is done here with the same
block scorer the recommendations use (its AUC agrees with lightfm's; see tests).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.ab import stable_fraction
from ml.dataset import Marts, RecDataset
from ml.embeddings import Embeddings, map_blocks, row_blocks
from ml.rules import top_k
from xrec.catalog import PARTNER_TO_PLATFORM, PLATFORM_TO_PARTNER
from xrec.config import PLATFORM
from xrec.spans import spanned

log = logging.getLogger(__name__)

CROSS_DOMAIN_SHARE = 0.5  # of the persons known on both sides; the rest teach the bridge
EVAL_MAX_USERS = 5000  # per evaluated (direction, catalogue); a seeded sample beyond that
PRIMARY_METRIC = "cross_domain.precision_at_k"
# ml_person_features families derived from the person's own interactions: the person's share of
# interaction weight on items carrying each feature of the family (in ml_item_features). They are
# recomputed from the training split for evaluation, or the test answers leak into the features.
INTERACTION_DERIVED_FAMILIES = ("topic", "style", "brand", "risk")


@dataclass(frozen=True)
class Split:
    """Disjoint rows of ml_interactions: what a model learns from, and its tests."""

    train: pd.DataFrame
    holdout: pd.DataFrame  # first seen in the window
    cross_domain: pd.DataFrame  # all partner rows of the window's cross-domain cohort


@dataclass(frozen=True)
class TimeSplit:
    """validation.train + validation.holdout == test.train (both without the cohorts' partner rows)."""

    validation: Split
    test: Split


def window_days(interactions: pd.DataFrame, run_date: date, holdout_days: int) -> int:
    """Length of the validation and test windows: `holdout_days`, shortened on a short history so
    that at least a third of it stays before both windows for training."""
    history = (pd.Timestamp(run_date) - pd.Timestamp(interactions["first_at"].min())).days
    days = max(1, min(holdout_days, history // 3))
    if days < holdout_days:
        log.warning(
            "history of %d days is short for two %d-day windows: validation and test windows of %d days each",
            history,
            holdout_days,
            days,
        )
    return days


def split_interactions(interactions: pd.DataFrame, items: pd.DataFrame, run_date: date, holdout_days: int) -> TimeSplit:
    """Time-based validation and test windows plus the two cross-domain cohorts' hidden history."""
    platform_items = items.loc[items["source"] == PLATFORM, "item_key"]
    on_platform = interactions["item_key"].isin(platform_items).to_numpy()
    sides = pd.DataFrame({"person_id": interactions["person_id"], "platform": on_platform})
    both = sides.groupby("person_id")["platform"].agg(["any", "all"])
    dual = both.index[both["any"] & ~both["all"]]
    fraction = stable_fraction(pd.Series(dual))
    cohorts = {
        "validation": dual[fraction < CROSS_DOMAIN_SHARE / 2],
        "test": dual[(fraction >= CROSS_DOMAIN_SHARE / 2) & (fraction < CROSS_DOMAIN_SHARE)],
    }
    person = interactions["person_id"]
    in_cohort = person.isin(dual[fraction < CROSS_DOMAIN_SHARE]).to_numpy()
    hidden = in_cohort & ~on_platform
    days = window_days(interactions, run_date, holdout_days)
    test_cutoff = pd.Timestamp(datetime.combine(run_date, time()) - timedelta(days=days))
    validation_cutoff = test_cutoff - pd.Timedelta(days=days)
    first_at = interactions["first_at"]
    in_test = (first_at >= test_cutoff).to_numpy() & ~in_cohort
    in_validation = (first_at >= validation_cutoff).to_numpy() & ~in_test & ~in_cohort
    test_train = interactions[~hidden & ~in_test]
    split = TimeSplit(
        validation=Split(
            train=interactions[~hidden & ~in_test & ~in_validation],
            holdout=interactions[in_validation],
            cross_domain=interactions[hidden & person.isin(cohorts["validation"]).to_numpy()],
        ),
        test=Split(
            train=test_train,
            holdout=interactions[in_test],
            cross_domain=interactions[hidden & person.isin(cohorts["test"]).to_numpy()],
        ),
    )
    log.info(
        "split: validation %d train, %d holdout (since %s), %d cross-domain rows of %d persons; "
        "test %d train, %d holdout (since %s), %d cross-domain rows of %d persons",
        len(split.validation.train),
        len(split.validation.holdout),
        validation_cutoff.date(),
        len(split.validation.cross_domain),
        len(cohorts["validation"]),
        len(split.test.train),
        len(split.test.holdout),
        test_cutoff.date(),
        len(split.test.cross_domain),
        len(cohorts["test"]),
    )
    return split


def interaction_shares(interactions: pd.DataFrame, item_features: pd.DataFrame) -> pd.DataFrame:
    """(person_id, feature, value): per person and derived family, the share of interaction
    weight on items with each feature of the family (as ml_person_features computes it)."""
    family = item_features["feature"].str.split(":", n=1).str[0]
    derived = item_features.loc[family.isin(INTERACTION_DERIVED_FAMILIES), ["item_key", "feature"]]
    rows = interactions[["person_id", "item_key", "weight"]].merge(derived, on="item_key")
    rows["family"] = rows["feature"].str.split(":", n=1).str[0]
    weights = rows.groupby(["person_id", "family", "feature"], as_index=False)["weight"].sum()
    weights["value"] = weights["weight"] / weights.groupby(["person_id", "family"])["weight"].transform("sum")
    return weights[["person_id", "feature", "value"]]


def training_marts(marts: Marts, train: pd.DataFrame) -> Marts:
    """`marts` with the interaction-derived person features recomputed from `train` only."""
    family = marts.person_features["feature"].str.split(":", n=1).str[0]
    kept = marts.person_features[~family.isin(INTERACTION_DERIVED_FAMILIES)]
    features = pd.concat([kept, interaction_shares(train, marts.item_features)], ignore_index=True)
    return replace(marts, person_features=features)


def _auc(scores: np.ndarray, positives: np.ndarray, n_excluded: np.ndarray) -> np.ndarray:
    """Per-row ROC AUC of positives vs the other items; the n_excluded -inf items are ignored.

    Compares each positive with its row (positives are few) instead of ranking whole rows.
    Ties count half, as with average ranks.
    """
    rows, cols = np.nonzero(positives)
    n_pos = positives.sum(axis=1)
    wins = np.zeros(len(scores))
    for part in row_blocks(len(rows), scores.shape[1]):
        row_scores, own = scores[rows[part]], scores[rows[part], cols[part]][:, None]
        below = (row_scores < own).sum(axis=1) + 0.5 * ((row_scores == own).sum(axis=1) - 1)
        wins += np.bincount(rows[part], weights=below, minlength=len(scores))
    wins -= n_pos * n_excluded + n_pos * (n_pos - 1) / 2
    n_neg = scores.shape[1] - n_excluded - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_neg > 0, wins / (n_pos * n_neg), np.nan)


def _sample(rows: np.ndarray, seed: int) -> np.ndarray:
    if len(rows) <= EVAL_MAX_USERS:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, EVAL_MAX_USERS, replace=False))


def _per_row(
    embeddings: Embeddings,
    train: sp.csr_matrix,
    test: sp.csr_matrix,
    rows: np.ndarray,
    items: slice,
    k: int,
    category: np.ndarray,
    threads: int,
) -> dict[str, np.ndarray]:
    """Per evaluated user: precision, recall, NDCG, AUC, diversity; plus the recommended items."""
    train_items, test_items = train[:, items], test[:, items]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))

    def measure(block: slice) -> dict[str, np.ndarray]:
        users = rows[block]
        scores = embeddings.score_block(users, items)
        seen = train_items[users].tocoo()
        scores[seen.row, seen.col] = -np.inf
        positives = test_items[users].toarray() > 0
        top, _ = top_k(scores, k)
        hits = np.take_along_axis(positives, top, axis=1)
        n_pos = positives.sum(axis=1)
        ideal = np.cumsum(discounts)[np.minimum(n_pos, k) - 1]
        listed = category[items][top]
        same = (listed[:, :, None] == listed[:, None, :]).sum(axis=(1, 2)) - top.shape[1]
        pairs = max(1, top.shape[1] * (top.shape[1] - 1))
        return {
            "precision": hits.sum(axis=1) / k,
            "recall": hits.sum(axis=1) / n_pos,
            "ndcg": hits @ discounts[: top.shape[1]] / ideal,
            "auc": _auc(scores, positives, train_items[users].getnnz(axis=1)),
            "diversity": 1 - same / pairs,
            "items": np.unique(top) + items.start,
        }

    blocks = map_blocks(measure, row_blocks(len(rows), items.stop - items.start), threads)
    names = ("precision", "recall", "ndcg", "auc", "diversity", "items")
    return {name: np.concatenate([b[name] for b in blocks]) if blocks else np.empty(0) for name in names}


def _summary(per_row: dict[str, np.ndarray], catalogue_size: int) -> dict[str, float]:
    users = len(per_row["precision"])
    out = {"users": users, "coverage": len(np.unique(per_row["items"])) / max(1, catalogue_size)}
    for name in ("precision", "recall", "ndcg"):
        out[f"{name}_at_k"] = float(per_row[name].mean()) if users else 0.0
    out["auc"] = float(np.nanmean(per_row["auc"])) if users else 0.0
    out["diversity"] = float(per_row["diversity"].mean()) if users else 0.0
    return out


def _test_rows(test: sp.csr_matrix, items: slice, allowed: np.ndarray) -> np.ndarray:
    return np.flatnonzero((test[:, items].getnnz(axis=1) > 0) & allowed)


def cold_start_auc(
    embeddings: Embeddings,
    dataset: RecDataset,
    train: sp.csr_matrix,
    test: sp.csr_matrix,
    seed: int,
    threads: int = 1,
) -> dict[str, float]:
    """AUC of test interactions with items that have no training interaction at all.

    Per catalogue, a user's cold test items are ranked against the items that are neither
    training nor other test positives of that user.
    """
    cold = train.getnnz(axis=0) == 0
    cold_test = sp.csr_matrix(test @ sp.diags(cold.astype(np.float32)))
    cold_test.eliminate_zeros()
    other = sp.csr_matrix(train + (test - cold_test))  # excluded from the negatives
    aucs = []
    for source in dataset.items["source"].unique():
        items = dataset.domain(source)
        rows = _sample(_test_rows(cold_test, items, np.ones(train.shape[0], bool)), seed)

        def measure(block: slice, rows: np.ndarray = rows, items: slice = items) -> np.ndarray:
            users = rows[block]
            scores = embeddings.score_block(users, items)
            excluded = other[users][:, items]
            ex = excluded.tocoo()
            scores[ex.row, ex.col] = -np.inf
            positives = cold_test[users][:, items].toarray() > 0
            return _auc(scores, positives, excluded.getnnz(axis=1))

        aucs += map_blocks(measure, row_blocks(len(rows), items.stop - items.start), threads)
    pooled = np.concatenate(aucs) if aucs else np.empty(0)
    return {
        "auc": float(np.nanmean(pooled)) if len(pooled) else float("nan"),
        "items": int((cold & (test.getnnz(axis=0) > 0)).sum()),
        "users": len(pooled),
    }


class CrossDomainCheck:
    """The primary metric alone (what early stopping and the selection watch): cross-domain
    precision@k over all partners, pooled per evaluated person, as `evaluate` computes it.

    Built once per (dataset, split): the evaluated persons and their training and hidden rows
    within each partner's catalogue are the same at every check, so a check only scores those
    persons (rebuilding the matrices each time cost as much as the scoring at the M sample)."""

    def __init__(self, dataset: RecDataset, split: Split, k: int, seed: int, threads: int = 1) -> None:
        train = dataset.interaction_matrices(split.train)[0].tocsr()
        hidden = dataset.interaction_matrices(split.cross_domain)[0].tocsr()
        everyone = np.ones(len(dataset.person_ids), bool)
        self.parts = []  # (rows, item range, their training items, their hidden items) per partner
        for partner in [s for s in dataset.items["source"].unique() if s != PLATFORM]:
            items = dataset.domain(partner)
            rows = _sample(_test_rows(hidden, items, everyone), seed)
            self.parts.append((rows, items, train[rows][:, items], hidden[rows][:, items]))
        self.k, self.threads = k, threads

    def __call__(self, embeddings: Embeddings) -> float:
        values = []
        for rows, items, seen, hidden in self.parts:

            def measure(block: slice, rows=rows, items=items, seen=seen, hidden=hidden) -> np.ndarray:
                scores = embeddings.score_block(rows[block], items)
                known = seen[block].tocoo()
                scores[known.row, known.col] = -np.inf
                top, _ = top_k(scores, self.k)
                return np.take_along_axis(hidden[block].toarray() > 0, top, axis=1).sum(axis=1) / self.k

            values += map_blocks(measure, row_blocks(len(rows), items.stop - items.start), self.threads)
        pooled = np.concatenate(values) if values else np.empty(0)
        return float(pooled.mean()) if len(pooled) else 0.0


@spanned("evaluate")
def evaluate(
    embeddings: Embeddings,
    dataset: RecDataset,
    split: Split,
    recipients: pd.DataFrame,
    k: int,
    seed: int,
    threads: int = 1,
) -> dict:
    """All offline metrics of one scorer (the model or the baseline) on `split`; blocks of users
    are scored on `threads` threads (the metrics do not depend on it)."""
    train = dataset.interaction_matrices(split.train)[0].tocsr()
    holdout = dataset.interaction_matrices(split.holdout)[0].tocsr()
    hidden = dataset.interaction_matrices(split.cross_domain)[0].tocsr()
    category = pd.factorize(dataset.items["category"])[0]
    persons = pd.Series(dataset.person_ids)
    platform_users = persons.isin(recipients.loc[recipients["recipient_source"] == PLATFORM, "person_id"]).to_numpy()
    partner_users = persons.isin(recipients.loc[recipients["recipient_source"] != PLATFORM, "person_id"]).to_numpy()
    partners = [s for s in dataset.items["source"].unique() if s != PLATFORM]

    def measure(test: sp.csr_matrix, items: slice, allowed: np.ndarray) -> dict[str, np.ndarray]:
        rows = _sample(_test_rows(test, items, allowed), seed)
        return _per_row(embeddings, train, test, rows, items, k, category, threads)

    platform = dataset.domain(PLATFORM)
    metrics: dict = {"k": k, PLATFORM_TO_PARTNER: {}, "cross_domain": {}}
    for partner in partners:
        items = dataset.domain(partner)
        size = items.stop - items.start
        metrics[PLATFORM_TO_PARTNER][partner] = _summary(measure(holdout, items, platform_users), size)
    metrics[PARTNER_TO_PLATFORM] = _summary(measure(holdout, platform, partner_users), platform.stop - platform.start)
    everyone = np.ones(len(persons), bool)
    pooled = {partner: measure(hidden, dataset.domain(partner), everyone) for partner in partners}
    for partner, per_row in pooled.items():
        items = dataset.domain(partner)
        metrics["cross_domain"][partner] = _summary(per_row, items.stop - items.start)
    if pooled:
        all_rows = {name: np.concatenate([p[name] for p in pooled.values()]) for name in pooled[partners[0]]}
        partner_items = sum(dataset.domain(p).stop - dataset.domain(p).start for p in partners)
        metrics["cross_domain"]["all"] = _summary(all_rows, partner_items)
    test_all = sp.csr_matrix(holdout + hidden)
    metrics["cold_start_items"] = cold_start_auc(embeddings, dataset, train, test_all, seed, threads)
    return metrics


def primary_value(metrics: dict) -> float:
    """The promotion metric: cross-domain precision@k over all partners."""
    return float(metrics["cross_domain"].get("all", {}).get("precision_at_k", 0.0))
