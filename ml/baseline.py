"""The popularity baseline, expressed as rank-1 embeddings so it is ranked by the same code."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ml.embeddings import Embeddings


def popularity_embeddings(train: sp.spmatrix) -> Embeddings:
    """Score of every (user, item) = number of distinct training users of the item.

    A tiny index-based tie-break keeps the order of equally popular items deterministic.
    """
    train = sp.csr_matrix(train)
    counts = train.getnnz(axis=0).astype(np.float64)
    tie_break = np.arange(train.shape[1])[::-1] / (10.0 * train.shape[1])
    items = (counts + tie_break).astype(np.float32)[:, None]
    return Embeddings(users=np.ones((train.shape[0], 1), np.float32), items=items)
