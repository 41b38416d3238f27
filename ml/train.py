"""Fit the hybrid LightFM model (WARP by default) epoch by epoch, deterministically."""
from __future__ import annotations

import copy
import logging
import time

import pandas as pd
from lightfm import LightFM

from ml.dataset import RecDataset
from xrec.config import Settings

log = logging.getLogger(__name__)

REFIT_SHARE = 0.25


def model_params(settings: Settings) -> dict:
    """The hyper-parameters of a run, as recorded in model_runs.params."""
    return {
        "loss": settings.loss,
        "no_components": settings.components,
        "epochs": settings.epochs,
        "learning_rate": settings.learning_rate,
        "item_alpha": settings.item_alpha,
        "user_alpha": settings.user_alpha,
        "random_state": settings.seed,
        "refit_epochs": refit_epochs(settings),
    }


def lightfm_arguments(settings: Settings) -> dict:
    """The `LightFM(...)` constructor arguments among the run's parameters."""
    params = model_params(settings)
    for training_only in ("epochs", "refit_epochs"):
        params.pop(training_only)
    return params


def refit_epochs(settings: Settings) -> int:
    """Epochs that continue a trained model on the full data (a quarter of a fresh fit): the
    evaluation model has already learnt all but the newest week, which needs far fewer passes."""
    return max(1, round(settings.epochs * REFIT_SHARE))


def train_model(
    settings: Settings,
    dataset: RecDataset,
    interactions: pd.DataFrame,
    warm_start: LightFM | None = None,
    epochs: int | None = None,
) -> LightFM:
    """Fit on `interactions` (rows of ml_interactions) for `epochs` (settings.epochs when None),
    continuing `warm_start` when given.

    A warm start is copied, never mutated, so the model it came from stays what it was.
    With settings.threads == 1 the result is bit-for-bit reproducible (fixed random_state).
    """
    epochs = settings.epochs if epochs is None else epochs
    if warm_start is None:
        model = LightFM(**lightfm_arguments(settings))
    else:
        model = copy.deepcopy(warm_start)
    matrix, weights = dataset.interaction_matrices(interactions)
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.fit_partial(
            matrix,
            user_features=dataset.user_features,
            item_features=dataset.item_features,
            sample_weight=weights,
            epochs=1,
            num_threads=settings.threads,
        )
        log.info(
            "epoch %d/%d done (%d interactions, %.1fs elapsed)",
            epoch, epochs, matrix.nnz, time.perf_counter() - started,
        )
    return model
