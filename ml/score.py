"""Top-k recommendations for every recipient, per direction and partner, as candidate rows.

Blocks of recipients, on XREC_SCORE_THREADS threads: a matmul against the target catalogue
(biases folded in, see ml.embeddings), the business rules as -inf masks, a top-k capped per
category (ml.rules), then the block's candidate table with its reasons (ml.explain). No Python
loop over recipients or items; the only loops are over partners, blocks and (for the rare rows
the capped walk needs it) categories.
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
from ml.embeddings import Embeddings, imap_blocks, map_blocks, row_blocks
from ml.explain import Explainer
from ml.rules import RuleContext, capped_top_k, mask_ineligible
from xrec.catalog import CONTROL, MODEL, PARTNER_TO_PLATFORM, PLATFORM_TO_PARTNER, RECOMMENDATION_CANDIDATES
from xrec.config import PLATFORM

log = logging.getLogger(__name__)

COLUMNS = RECOMMENDATION_CANDIDATES.column_names
# Candidate tables are built per block of recipients: a block's reason strings are most of its
# memory (~0.6 KB a row), so scoring holds a few blocks of them at a time (see score_all), never
# the whole table.
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
    threads: int = 1  # blocks of recipients scored in parallel (results do not depend on it)


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

    Blocks of rows are ranked on `threads` threads; each writes its own rows, so the result
    does not depend on the thread count.
    """
    n_items = items.stop - items.start
    k = min(k, n_items)
    top = np.empty((len(user_rows), k), np.int64)
    scores = np.empty((len(user_rows), k), np.float32)
    category = rules.category[items]

    def rank(block: slice) -> None:
        users = user_rows[block]
        block_scores = embeddings.score_block(users, items)
        mask_ineligible(block_scores, users, items, rules)
        top[block], scores[block] = capped_top_k(block_scores, category, k, cap)

    map_blocks(rank, row_blocks(len(user_rows), n_items), threads)
    return top + items.start, scores


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


@dataclass(frozen=True)
class _Block:
    """A block of at most FRAME_RECIPIENTS recipients of one direction, partner and variant."""

    direction: str
    partner: str
    variant: str
    recipients: pd.DataFrame  # person_id, recipient_id
    rows: np.ndarray  # their person rows
    embeddings: Embeddings
    by_popularity: bool
    items: slice


def _blocks(dataset: RecDataset, scorers: Scorers, recipients: pd.DataFrame, ranking: Ranking) -> Iterator[_Block]:
    """Every block to score, in the order the candidates are written: platform users -> each
    partner's items, and each partner's customers -> platform courses; in each, the model's
    recipients, then the control group's."""
    platform_users = recipients[recipients["recipient_source"] == PLATFORM]
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
            rows = dataset.user_index(who["person_id"])
            control = is_control(partner, who["recipient_id"], ranking.control_share)
            for variant, embeddings, chosen, by_popularity in (
                (MODEL, scorers.model, ~control, scorers.ranker == POPULARITY),
                (CONTROL, scorers.popularity, control, True),
            ):
                chosen_who, chosen_rows = who[chosen], rows[chosen]
                for start in range(0, len(chosen_who), FRAME_RECIPIENTS):
                    block = slice(start, start + FRAME_RECIPIENTS)
                    yield _Block(
                        direction,
                        partner,
                        variant,
                        chosen_who.iloc[block],
                        chosen_rows[block],
                        embeddings,
                        by_popularity,
                        items,
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
    """Every candidate row of run_date (COLUMNS), a table per block of recipients (`_blocks`'
    order, whatever the thread count).

    Each block is ranked and its table built on one of `ranking.threads` threads, while the
    caller writes the table before it: building a table (reasons, Arrow strings) had run on one
    thread after the ranker's two, and most of it releases the GIL. At most one block more than
    there are threads is held (the caller's included), so memory grows by a few blocks' tables,
    not with the recipients."""
    known = dataset.user_index(recipients["person_id"]) >= 0
    if not known.all():
        log.warning("ml_recipients: %d rows name an unknown person; not scored", int((~known).sum()))
    recipients = recipients[known].sort_values(["recipient_source", "recipient_id"], ignore_index=True)
    constant = {
        "run_date": pa.scalar(run_date, pa.date32()),
        "model_version": pa.scalar(version, pa.string()),
        "generated_at": pa.scalar(datetime.now(UTC).replace(tzinfo=None), pa.timestamp("us")),
    }

    def score(block: _Block) -> pa.Table:
        # ranked on this thread: the blocks are the parallelism (imap_blocks must not nest)
        top, scores = recommend(block.embeddings, block.rows, block.items, rules, ranking.k, ranking.cap)
        sources = reason_sources(block.direction, block.partner)
        table = _frame(
            dataset,
            block.recipients,
            block.rows,
            top,
            scores,
            block.variant,
            block.by_popularity,
            scorers.explainer,
            rules,
            sources,
        )
        per_block = {
            "direction": pa.scalar(block.direction, pa.string()),
            "partner": pa.scalar(block.partner, pa.string()),
        }
        for name, value in {**constant, **per_block}.items():
            table = table.append_column(name, pa.repeat(value, len(table)))
        log.info(
            "%s %s %s: %d rows for %d recipients",
            block.direction,
            block.partner,
            block.variant,
            len(table),
            len(block.recipients),
        )
        return table.select(COLUMNS)

    blocks = _blocks(dataset, scorers, recipients, ranking)
    yield from imap_blocks(score, blocks, ranking.threads, window=ranking.threads + 1)
