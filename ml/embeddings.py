"""User and item vectors with the biases folded in, so one matmul gives LightFM's scores.

users = [user_embedding, user_bias, 1] and items = [item_embedding, 1, item_bias], so
users @ items.T == user_embedding @ item_embedding.T + user_bias + item_bias == LightFM.predict.

An item without training interactions has no identity feature (see ml.dataset), so LightFM would
score it from its features alone, below every warm item whose identity adds a learnt offset. Its
unknown identity is imputed instead with the mean identity term of the warm items of its source:
a new item starts as an average item of its catalogue, moved by what its features say.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from contextvars import copy_context
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd
from lightfm import LightFM
from threadpoolctl import threadpool_limits

from ml.dataset import RecDataset

A = TypeVar("A")
T = TypeVar("T")
# Rows per block are chosen so a block holds about this many float32 scores (~64 MB).
BLOCK_CELLS = 1 << 24


@dataclass(frozen=True)
class Embeddings:
    """Row i of `users` dotted with row j of `items` is the score of (user i, item j)."""

    users: np.ndarray
    items: np.ndarray

    def score_block(self, user_rows: np.ndarray, items: slice | np.ndarray) -> np.ndarray:
        """Scores of `user_rows` against the item range or item indices `items` (float32, rows x items)."""
        return self.users[user_rows] @ self.items[items].T


def _impute_cold_identity(
    model: LightFM, dataset: RecDataset, bias: np.ndarray, vectors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Add to each item without identity feature the mean identity term of its source's warm items."""
    identity = pd.Index(dataset.id_maps()["item_features"]).get_indexer(dataset.item_keys)
    weight = np.asarray(dataset.item_features[np.arange(len(identity)), identity]).ravel()
    warm = weight > 0
    term_bias = weight * model.item_biases[identity]
    term_vectors = weight[:, None] * model.item_embeddings[identity]
    bias, vectors = bias.copy(), vectors.copy()
    for source in dataset.items["source"].unique():
        rows = dataset.domain(source)
        cold = np.flatnonzero(~warm[rows]) + rows.start
        known = np.flatnonzero(warm[rows]) + rows.start
        if len(cold) and len(known):
            bias[cold] += term_bias[known].mean()
            vectors[cold] += term_vectors[known].mean(axis=0)
    return bias, vectors


def model_embeddings(model: LightFM, dataset: RecDataset) -> Embeddings:
    """Fold LightFM's feature-based representations and biases into two float32 matrices
    (cold items get the imputed identity term)."""
    user_bias, user_vectors = model.get_user_representations(dataset.user_features)
    item_bias, item_vectors = _impute_cold_identity(
        model, dataset, *model.get_item_representations(dataset.item_features)
    )
    ones_users = np.ones((len(user_bias), 1), np.float32)
    ones_items = np.ones((len(item_bias), 1), np.float32)
    users = np.hstack([user_vectors, user_bias[:, None], ones_users]).astype(np.float32)
    items = np.hstack([item_vectors, ones_items, item_bias[:, None]]).astype(np.float32)
    return Embeddings(users=np.ascontiguousarray(users), items=np.ascontiguousarray(items))


def map_blocks(function: Callable[[A], T], blocks: Sequence[A], threads: int) -> list[T]:
    """`function` of each block, in block order, on `threads` threads: numpy releases the GIL in
    the matmul, masking and partitioning that dominate a block of rows, LightFM in its fit, so
    blocks (row ranges, or the selection's candidates) run in parallel.

    With more than one thread each block's matmul runs on one BLAS thread: OpenBLAS's own
    threads (one per CPU) beside ours oversubscribed the cores (M, 50k recipients x one partner,
    2 threads: 13.6 CPU s / 27 s wall with OpenBLAS on 2 threads, 11.5 / 11.9 on 1; same ranks,
    as a matmul splits rows and columns across its threads, never the sum). The limit is
    process-wide, so a function run here must not call map_blocks on more than one thread itself
    (two limits entered and left by different threads can leave BLAS at the wrong count).
    Each block runs in a copy of the caller's context, so timing spans (xrec.spans) inside it
    report as the caller's would."""
    one_blas_thread = threadpool_limits(1, user_api="blas") if threads > 1 else nullcontext()
    with one_blas_thread, ThreadPoolExecutor(max(1, threads)) as pool:
        futures = [pool.submit(copy_context().run, function, block) for block in blocks]
        return [future.result() for future in futures]


def row_blocks(n_rows: int, n_items: int) -> list[slice]:
    """Consecutive row ranges sized so a block of scores stays near BLOCK_CELLS."""
    step = max(1, BLOCK_CELLS // max(1, n_items))
    return [slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]
