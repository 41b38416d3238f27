"""User and item vectors with the biases folded in, so one matmul gives LightFM's scores.

users = [user_embedding, user_bias, 1] and items = [item_embedding, 1, item_bias], so
users @ items.T == user_embedding @ item_embedding.T + user_bias + item_bias == LightFM.predict.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from lightfm import LightFM

from ml.dataset import RecDataset

# Rows per block are chosen so a block holds about this many float32 scores (~64 MB).
BLOCK_CELLS = 1 << 24


@dataclass(frozen=True)
class Embeddings:
    """Row i of `users` dotted with row j of `items` is the score of (user i, item j)."""

    users: np.ndarray
    items: np.ndarray

    def score_block(self, user_rows: np.ndarray, items: slice) -> np.ndarray:
        """Scores of `user_rows` against the item range `items` (float32, rows x items)."""
        return self.users[user_rows] @ self.items[items].T


def model_embeddings(model: LightFM, dataset: RecDataset) -> Embeddings:
    """Fold LightFM's feature-based representations and biases into two float32 matrices."""
    user_bias, user_vectors = model.get_user_representations(dataset.user_features)
    item_bias, item_vectors = model.get_item_representations(dataset.item_features)
    ones_users = np.ones((len(user_bias), 1), np.float32)
    ones_items = np.ones((len(item_bias), 1), np.float32)
    users = np.hstack([user_vectors, user_bias[:, None], ones_users]).astype(np.float32)
    items = np.hstack([item_vectors, ones_items, item_bias[:, None]]).astype(np.float32)
    return Embeddings(users=np.ascontiguousarray(users), items=np.ascontiguousarray(items))


def row_blocks(n_rows: int, n_items: int) -> list[slice]:
    """Consecutive row ranges sized so a block of scores stays near BLOCK_CELLS."""
    step = max(1, BLOCK_CELLS // max(1, n_items))
    return [slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]
