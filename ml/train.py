"""Fit LightFM with one ModelConfig, epoch by epoch, deterministically (1 thread)."""
from __future__ import annotations

import logging
import time

import pandas as pd
from lightfm import LightFM

from ml.config import BINARY, ModelConfig
from ml.dataset import RecDataset

log = logging.getLogger(__name__)


def train_model(
    config: ModelConfig, dataset: RecDataset, interactions: pd.DataFrame, epochs: int | None = None,
    model: LightFM | None = None,
) -> LightFM:
    """Fit on `interactions` (rows of ml_interactions) for `epochs` (config.epochs when None).

    `model` (built with the same config and dataset) is continued in place when given: early
    stopping trains a candidate a few epochs at a time. With config.threads == 1 the result is
    bit-for-bit reproducible (fixed random_state).
    """
    epochs = config.epochs if epochs is None else epochs
    model = LightFM(**config.lightfm_arguments()) if model is None else model
    matrix, weights = dataset.interaction_matrices(interactions)
    sample_weight = None if config.weighting == BINARY else weights
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.fit_partial(
            matrix,
            user_features=dataset.user_features,
            item_features=dataset.item_features,
            sample_weight=sample_weight,
            epochs=1,
            num_threads=config.threads,
        )
        log.debug("%s: epoch %d/%d (%d interactions, %.1fs)", config.name, epoch, epochs, matrix.nnz,
                  time.perf_counter() - started)
    log.info("%s: %d epochs on %d interactions in %.1fs", config.name, epochs, matrix.nnz,
             time.perf_counter() - started)
    return model
