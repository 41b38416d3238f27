"""Reference figures on the run's own data: a bare LightFM fit (same configuration, epochs,
threads and matrices as the published model), and a scorer comparison (our ranker, a bare numpy
matmul + argpartition, LightFM.predict, over the published model's embeddings)."""

from __future__ import annotations

import logging
import time
from datetime import date

import numpy as np
from lightfm import LightFM

from ml.baseline import popularity_embeddings
from ml.config import BINARY
from ml.dataset import build_dataset, known_interactions
from ml.embeddings import Embeddings, model_embeddings, row_blocks
from ml.rules import build_rule_context
from ml.score import recommend
from xrec.config import PLATFORM, Settings
from xrec.steps.marts import load_marts
from xrec.steps.model import scoring_threads
from xrec.steps.registry import load_artifact, run_for

log = logging.getLogger(__name__)


def bare_fit(settings: Settings, run_date: date) -> dict:
    """Seconds and interactions/s of one plain `LightFM.fit` on all interactions up to run_date,
    with the configuration the run chose."""
    config = run_for(settings, run_date).config
    marts = load_marts(settings)
    interactions = known_interactions(marts)
    dataset = build_dataset(marts, interactions, config.representation)
    matrix, weights = dataset.interaction_matrices(interactions)
    epochs = config.epochs
    started = time.perf_counter()
    LightFM(**config.lightfm_arguments()).fit(
        matrix,
        user_features=dataset.user_features,
        item_features=dataset.item_features,
        sample_weight=None if config.weighting == BINARY else weights,
        epochs=epochs,
        num_threads=settings.threads,
    )
    seconds = time.perf_counter() - started
    log.info("bare LightFM fit for %s: %d interactions x %d epochs in %.2f s", run_date, matrix.nnz, epochs, seconds)
    return {
        "fit_interactions": int(matrix.nnz),
        "fit_epochs": epochs,
        "fit_seconds": seconds,
        "fit_interactions_per_s": matrix.nnz * epochs / seconds,
    }


def bare_top_k_seconds(embeddings: Embeddings, user_rows: np.ndarray, items: slice, k: int) -> float:
    """Seconds for a bare blocked matmul + argpartition (no rules, no sort) over the users."""
    started = time.perf_counter()
    for block in row_blocks(len(user_rows), items.stop - items.start):
        scores = embeddings.score_block(user_rows[block], items)
        np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return time.perf_counter() - started


def predict_seconds(model, dataset, user_rows: np.ndarray, items: slice, threads: int) -> float:
    """Seconds for LightFM.predict on every (user, item) pair of `user_rows` x `items`."""
    n_items = items.stop - items.start
    users = np.repeat(user_rows.astype(np.int32), n_items)
    item_ids = np.tile(np.arange(items.start, items.stop, dtype=np.int32), len(user_rows))
    started = time.perf_counter()
    model.predict(
        users, item_ids, user_features=dataset.user_features, item_features=dataset.item_features, num_threads=threads
    )
    return time.perf_counter() - started


def scorer_comparison(settings: Settings, run_date: date, predict_users: int = 2000) -> dict:
    """Cells/s of our scorer (rules + capped top-k), the bare matmul, and LightFM.predict, on
    the platform users x every partner catalogue of the ranker of run_date (a popularity
    champion has no LightFM model: no predict figure then)."""
    run = run_for(settings, run_date)
    marts = load_marts(settings)
    interactions = known_interactions(marts)
    dataset = build_dataset(marts, interactions, run.config.representation)
    model, _ = load_artifact(run.artifact_path)
    owned = dataset.interaction_matrices(interactions)[0]
    embeddings = popularity_embeddings(owned) if model is None else model_embeddings(model, dataset)
    rules = build_rule_context(dataset, owned)
    users = dataset.user_index(marts.recipients.loc[marts.recipients["recipient_source"] == PLATFORM, "person_id"])
    partners = [dataset.domain(p) for p in settings.partners]
    cells = sum(len(users) * (s.stop - s.start) for s in partners)
    started = time.perf_counter()
    threads = scoring_threads(settings)
    for items in partners:
        recommend(embeddings, users, items, rules, settings.top_k, settings.max_per_category, threads)
    ours = time.perf_counter() - started
    bare = sum(bare_top_k_seconds(embeddings, users, items, settings.top_k) for items in partners)
    sample = users[:predict_users]
    predict_cells = len(sample) * (partners[0].stop - partners[0].start)
    predict = None if model is None else predict_seconds(model, dataset, sample, partners[0], run.config.threads)
    return {
        "cells": cells,
        "ours_cells_per_s": cells / ours,
        "bare_cells_per_s": cells / bare,
        "predict_cells_per_s": None if predict is None else predict_cells / predict,
        "ours_vs_bare": bare / ours,
        "ours_seconds": ours,
        "bare_seconds": bare,
    }


def reference_figures(settings: Settings, run_date: date) -> dict:
    """Bare fit (of the configuration the run chose) plus the scorer comparison of its ranker."""
    return {**bare_fit(settings, run_date), **scorer_comparison(settings, run_date)}
