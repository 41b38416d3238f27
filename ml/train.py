"""Fit LightFM with one ModelConfig, epoch by epoch, deterministically (1 thread).

Every epoch is fitted one catalogue (item source) at a time: `fit_partial` on that catalogue's
interaction columns and item-feature rows (the feature columns, hence the parameters, are shared).
WARP then samples the negatives of a positive from the same catalogue only, which is how the
model is used: it always ranks within one catalogue (a partner's items, or the platform's).
Fitted over the whole item space at once, a person seen on the platform only gets every partner
item as a negative, the popular ones most often (WARP keeps sampling until an item outscores the
positive), so an identity vector learns "not the partner's popular items" and cross-domain
recommendations of identity models fell below popularity.
"""

from __future__ import annotations

import logging
import time

import pandas as pd
from lightfm import LightFM

from ml.config import BINARY, ModelConfig
from ml.dataset import RecDataset
from xrec.spans import spanned

log = logging.getLogger(__name__)


@spanned(
    "fit",
    units=lambda config, dataset, interactions, epochs=None, model=None: (
        len(interactions) * (config.epochs if epochs is None else epochs)
    ),
)
def train_model(
    config: ModelConfig,
    dataset: RecDataset,
    interactions: pd.DataFrame,
    epochs: int | None = None,
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
    matrix, weights = matrix.tocsc(), weights.tocsc()
    parts = []
    for source in dataset.items["source"].unique():
        items = dataset.domain(source)
        part = matrix[:, items].tocoo()
        if part.nnz:
            weight = None if config.weighting == BINARY else weights[:, items].tocoo()
            parts.append((part, weight, dataset.item_features[items]))
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        for part, weight, item_features in parts:
            model.fit_partial(
                part,
                user_features=dataset.user_features,
                item_features=item_features,
                sample_weight=weight,
                epochs=1,
                num_threads=config.threads,
            )
        log.debug(
            "%s: epoch %d/%d (%d interactions, %.1fs)",
            config.name,
            epoch,
            epochs,
            matrix.nnz,
            time.perf_counter() - started,
        )
    log.info(
        "%s: %d epochs on %d interactions in %.1fs", config.name, epochs, matrix.nnz, time.perf_counter() - started
    )
    return model
