"""Top-k recommendations for every recipient, per direction and partner, as candidate rows.

Blocks of recipients, on XREC_SCORE_THREADS threads: a matmul against the target catalogue
(biases folded in, see ml.embeddings) over the items the business rules allow, a top-k capped per
category (ml.rules). No Python loop over recipients or items; the only loops are over partners,
rule groups, blocks and (for the rare rows the capped walk needs it) categories.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from ml.ab import is_control
from ml.config import POPULARITY
from ml.dataset import RecDataset
from ml.embeddings import Embeddings, map_blocks, row_blocks
from ml.explain import Explainer
from ml.rules import Eligible, RuleContext, capped_top_k, eligible_groups, mask_owned
from xrec.catalog import CONTROL, MODEL, PARTNER_TO_PLATFORM, PLATFORM_TO_PARTNER, RECOMMENDATION_CANDIDATES
from xrec.config import PLATFORM

log = logging.getLogger(__name__)

COLUMNS = RECOMMENDATION_CANDIDATES.column_names
# Candidate tables are built per block of recipients: a block's reason strings are most of its
# memory (~0.6 KB a row), so scoring holds one block of them at a time, never the whole table.
FRAME_RECIPIENTS = 50_000


@dataclass(frozen=True)
class Scorers:
    """What ranks the items: the published ranker (`ranker`: the LightFM model, or popularity
    when popularity is the champion) for most recipients, popularity for the control group;
    the explainer says why (ml.explain)."""

    model: Embeddings
    popularity: Embeddings
    ranker: str
    explainer: Explainer


def reason_sources(direction: str, partner: str) -> tuple[str, ...]:
    """The sources whose items a reason may name: those the list's audience may know of (a
    partner sees only its own items of its customer's history; the platform app its own and
    the partner's)."""
    return (partner,) if direction == PARTNER_TO_PLATFORM else (PLATFORM, partner)


@dataclass(frozen=True)
class Ranking:
    """How lists are cut: business settings, not model hyper-parameters."""

    partners: tuple[str, ...]
    k: int = 10
    cap: int = 4  # items of one category per list
    control_share: float = 0.10  # recipients per partner in the popularity control group
    threads: int = 1  # blocks of users ranked in parallel (results do not depend on it)


def recommend(
    embeddings: Embeddings,
    user_rows: np.ndarray,
    items: slice,
    rules: RuleContext,
    k: int,
    cap: int,
    threads: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """(item indices, scores), each (len(user_rows), k), best first; -inf where fewer than k
    items are allowed. Item indices are positions in the whole item space.

    Each group of recipients ranks the items the rules leave it (ml.rules.eligible_groups), in
    blocks of rows on `threads` threads; each block writes its own rows, so the result does not
    depend on the thread count.
    """
    k = min(k, items.stop - items.start)
    top = np.full((len(user_rows), k), items.start, np.int64)
    scores = np.full((len(user_rows), k), -np.inf, np.float32)
    blocks = [
        (group, block)
        for group in eligible_groups(user_rows, items, rules)
        if len(group.items)
        for block in row_blocks(len(group.rows), len(group.items))
    ]

    def rank(job: tuple[Eligible, slice]) -> None:
        group, block = job
        rows = group.rows[block]
        width = min(k, len(group.items))
        block_scores = embeddings.score_block(user_rows[rows], group.items)
        mask_owned(block_scores, user_rows[rows], group.items, rules)
        columns, top_scores = capped_top_k(block_scores, rules.category[group.items], width, cap)
        top[rows, :width], scores[rows, :width] = group.items[columns], top_scores

    map_blocks(rank, blocks, threads)
    return top, scores


def _frame(
    dataset: RecDataset,
    recipients: pd.DataFrame,
    rows: np.ndarray,
    top: np.ndarray,
    scores: np.ndarray,
    variant: str,
    by_popularity: bool,
    explainer: Explainer,
    rules: RuleContext,
    sources: tuple[str, ...],
) -> pa.Table:
    k = top.shape[1]
    flat_top, flat_scores = top.ravel(), scores.ravel()
    keep = np.isfinite(flat_scores)  # -inf only trails a row, so the kept ranks stay dense
    recipient = np.repeat(np.arange(len(rows)), k)[keep]
    reasons = explainer.explain(
        rules.owned,
        dataset.user_features,
        dataset.persons["city"].to_numpy(object),
        rows[recipient],
        flat_top[keep],
        by_popularity,
        sources,
    )
    return pa.table(
        {
            "recipient_id": _strings(recipients["recipient_id"]).take(recipient),
            "person_id": _strings(recipients["person_id"]).take(recipient),
            "item_id": _strings(dataset.items["item_id"]).take(flat_top[keep]),
            "rank": np.tile(np.arange(1, k + 1, dtype=np.int32), len(rows))[keep],
            "score": flat_scores[keep].astype(np.float64),
            "variant": pa.repeat(pa.scalar(variant, pa.string()), int(keep.sum())),
            "reason": reasons.text,
            "reason_items": reasons.json_strings,
        }
    )


def _strings(values: pd.Series) -> pa.Array:
    return pa.array(values, pa.string())


def score_direction(
    dataset: RecDataset,
    scorers: Scorers,
    rules: RuleContext,
    recipients: pd.DataFrame,
    partner: str,
    items: slice,
    ranking: Ranking,
    sources: tuple[str, ...],
) -> Iterator[pa.Table]:
    """Candidates for `recipients` (person_id, recipient_id) over the item range `items`, a table
    per block of FRAME_RECIPIENTS; reasons name history items of `sources` only."""
    rows = dataset.user_index(recipients["person_id"])
    control = is_control(partner, recipients["recipient_id"], ranking.control_share)
    for variant, embeddings, chosen, by_popularity in (
        (MODEL, scorers.model, ~control, scorers.ranker == POPULARITY),
        (CONTROL, scorers.popularity, control, True),
    ):
        top, scores = recommend(embeddings, rows[chosen], items, rules, ranking.k, ranking.cap, ranking.threads)
        who = recipients[chosen]
        for start in range(0, len(who), FRAME_RECIPIENTS):
            block = slice(start, start + FRAME_RECIPIENTS)
            yield _frame(
                dataset,
                who.iloc[block],
                rows[chosen][block],
                top[block],
                scores[block],
                variant,
                by_popularity,
                scorers.explainer,
                rules,
                sources,
            )


def score_all(
    ranking: Ranking,
    run_date: date,
    version: str,
    dataset: RecDataset,
    scorers: Scorers,
    rules: RuleContext,
    recipients: pd.DataFrame,
) -> Iterator[pa.Table]:
    """Every candidate row of run_date (COLUMNS), a table at a time: platform users -> each
    partner's items, and each partner's customers -> platform courses."""
    known = dataset.user_index(recipients["person_id"]) >= 0
    if not known.all():
        log.warning("ml_recipients: %d rows name an unknown person; not scored", int((~known).sum()))
    recipients = recipients[known].sort_values(["recipient_source", "recipient_id"], ignore_index=True)
    platform_users = recipients[recipients["recipient_source"] == PLATFORM]
    generated_at = datetime.now(UTC).replace(tzinfo=None)
    for partner in ranking.partners:
        customers = recipients[recipients["recipient_source"] == partner]
        for direction, who, items in (
            (PLATFORM_TO_PARTNER, platform_users, dataset.domain(partner)),
            (PARTNER_TO_PLATFORM, customers, dataset.domain(PLATFORM)),
        ):
            if who.empty or items.stop == items.start:
                log.warning(
                    "%s %s: nothing to score (%d recipients, %d items)",
                    direction,
                    partner,
                    len(who),
                    items.stop - items.start,
                )
                continue
            rows = 0
            for table in score_direction(
                dataset, scorers, rules, who, partner, items, ranking, reason_sources(direction, partner)
            ):
                constant = {
                    "run_date": pa.scalar(run_date, pa.date32()),
                    "model_version": pa.scalar(version, pa.string()),
                    "direction": pa.scalar(direction, pa.string()),
                    "partner": pa.scalar(partner, pa.string()),
                    "generated_at": pa.scalar(generated_at, pa.timestamp("us")),
                }
                for name, value in constant.items():
                    table = table.append_column(name, pa.repeat(value, len(table)))
                rows += len(table)
                yield table.select(COLUMNS)
            log.info("%s %s: %d rows for %d recipients", direction, partner, rows, len(who))
