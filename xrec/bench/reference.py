"""Reference figures on the run's own data: a bare LightFM fit (same params, epochs, threads and
matrices as the final model), and ml.reference's scorer comparison (our ranker, a bare numpy
matmul + argpartition, LightFM.predict, over the promoted model's embeddings)."""
from __future__ import annotations

import logging
import time
from datetime import date

from lightfm import LightFM

from ml.dataset import build_dataset, known_interactions, load_marts
from ml.reference import scorer_comparison
from ml.train import lightfm_arguments
from xrec.config import Settings

log = logging.getLogger(__name__)


def bare_fit(settings: Settings, run_date: date) -> dict:
    """Seconds and interactions/s of one plain `LightFM.fit` on all interactions up to run_date."""
    marts = load_marts(settings)
    interactions = known_interactions(marts)
    dataset = build_dataset(marts, interactions)
    matrix, weights = dataset.interaction_matrices(interactions)
    epochs = settings.epochs
    started = time.perf_counter()
    LightFM(**lightfm_arguments(settings)).fit(matrix, user_features=dataset.user_features,
                          item_features=dataset.item_features, sample_weight=weights,
                          epochs=epochs, num_threads=settings.threads)
    seconds = time.perf_counter() - started
    log.info("bare LightFM fit for %s: %d interactions x %d epochs in %.2f s",
             run_date, matrix.nnz, epochs, seconds)
    return {"fit_interactions": int(matrix.nnz), "fit_epochs": epochs, "fit_seconds": seconds,
            "fit_interactions_per_s": matrix.nnz * epochs / seconds}


def reference_figures(settings: Settings, run_date: date) -> dict:
    """Bare fit plus the scorer comparison; the model of run_date must have been trained."""
    return {**bare_fit(settings, run_date), **scorer_comparison(settings, run_date)}
