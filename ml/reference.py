"""Reference timers for the ML steps: our scorer vs a bare numpy matmul+argpartition and vs
LightFM.predict over the same embeddings, plus end-to-end train/score timings and peak RSS on a
synthetic warehouse. The benchmark harness (`xrec bench`) calls `benchmark`.
"""
from __future__ import annotations

import logging
import resource
import time
from datetime import date
from pathlib import Path

import numpy as np

from ml.dataset import build_dataset, known_interactions, load_marts
from ml.embeddings import Embeddings, model_embeddings, row_blocks, scoring_threads
from ml.pipeline import score_candidates, train_and_evaluate
from ml.registry import load_artifact, run_for
from ml.rules import build_rule_context
from ml.score import recommend
from ml.synthetic import SyntheticSize, build_marts
from xrec.config import PLATFORM, Settings
from xrec.warehouse import connect

log = logging.getLogger(__name__)


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
    model.predict(users, item_ids, user_features=dataset.user_features,
                  item_features=dataset.item_features, num_threads=threads)
    return time.perf_counter() - started


def scorer_comparison(settings: Settings, run_date: date, predict_users: int = 2000) -> dict:
    """Cells/s of our scorer (rules + capped top-k), the bare matmul, and LightFM.predict, on
    the platform users x every partner catalogue of the promoted model of run_date."""
    run = run_for(settings, run_date)
    marts = load_marts(settings)
    interactions = known_interactions(marts)
    dataset = build_dataset(marts, interactions)
    model, _ = load_artifact(run.artifact_path)
    owned = dataset.interaction_matrices(interactions)[0]
    embeddings, rules = model_embeddings(model, dataset), build_rule_context(dataset, owned)
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
    predict = predict_seconds(model, dataset, sample, partners[0], settings.threads)
    predict_cells = len(sample) * (partners[0].stop - partners[0].start)
    return {
        "cells": cells,
        "ours_cells_per_s": cells / ours,
        "bare_cells_per_s": cells / bare,
        "predict_cells_per_s": predict_cells / predict,
        "ours_vs_bare": bare / ours,
        "ours_seconds": ours,
        "bare_seconds": bare,
    }


def benchmark(
    root: Path, users: int = 200_000, threads: int = 2, seed: int = 0, env: dict | None = None
) -> dict:
    """Build a synthetic warehouse of `users` persons under `root`, time train+evaluate and
    scoring, compare the scorer with the references, and report peak RSS (MB). `env` adds
    XREC_* settings (e.g. XREC_EPOCHS)."""
    run_date = date(2026, 3, 1)
    settings = Settings.from_env({
        "XREC_WAREHOUSE": str(root / "warehouse.duckdb"),
        "XREC_ARTIFACTS": str(root / "artifacts"),
        "XREC_THREADS": str(threads),
        **(env or {}),
    })
    with connect(settings) as con:
        build_marts(con, run_date, SyntheticSize.like_users(users), seed=seed)
        interactions = con.execute("select count(*) from marts.ml_interactions").fetchone()[0]
        items = con.execute("select count(*) from marts.ml_items").fetchone()[0]
    started = time.perf_counter()
    run = train_and_evaluate(settings, run_date)
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    rows = score_candidates(settings, run_date) if run.is_promoted else 0
    score_seconds = time.perf_counter() - started
    figures = {
        "users": users, "interactions": interactions, "items": items, "threads": threads,
        "train_evaluate_seconds": train_seconds, "score_seconds": score_seconds,
        "candidate_rows": rows, "promoted": run.is_promoted,
        "primary_value": run.primary_value, "baseline_value": run.baseline_value,
        "cold_start_auc": run.metrics["cold_start_items"]["auc"],
    }
    if run.is_promoted:
        figures.update(scorer_comparison(settings, run_date))
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


if __name__ == "__main__":  # python -m ml.reference <root> [users] [threads] [epochs]
    import json
    import sys

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    result = benchmark(out, int(sys.argv[2]) if len(sys.argv) > 2 else 200_000,
                       int(sys.argv[3]) if len(sys.argv) > 3 else 2,
                       env={"XREC_EPOCHS": sys.argv[4]} if len(sys.argv) > 4 else None)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
