"""The two ML steps the DAG calls: train+evaluate+gate, then score.

Evaluation uses a model trained without the holdout (and without the cross-domain cohort's
partner history); the model that scores then continues it (or yesterday's published model, when
its id spaces still match) on all interactions up to run_date for a few epochs, so the newest
behaviour (the most predictive) is not thrown away and the full fit is not paid twice. Both
datasets share one id/feature space for that. The gate judges the evaluation model.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone

import pandas as pd
from lightfm import LightFM

from ml.baseline import popularity_embeddings
from ml.dataset import (
    MartDataError, RecDataset, build_dataset, data_window, known_interactions, load_marts, user_feature_names,
)
from ml.embeddings import model_embeddings, scoring_threads
from ml.explain import model_explainer
from ml.evaluate import PRIMARY_METRIC, evaluate, primary_value, split_interactions, training_marts
from ml.gate import promotion_decision
from ml.registry import (
    ModelRun, data_fingerprint, last_published, load_artifact, model_version, record_run,
    run_for, save_artifact,
)
from ml.rules import build_rule_context
from ml.score import COLUMNS, Scorers, score_all, write_candidates
from ml.train import model_params, refit_epochs, train_model
from xrec.config import Settings

log = logging.getLogger(__name__)


def _warm_start(previous: ModelRun | None, dataset: RecDataset) -> LightFM | None:
    """The last published model, when its id and feature spaces equal today's."""
    if previous is None:
        return None
    model, id_maps = load_artifact(previous.artifact_path)
    if id_maps != dataset.id_maps():
        log.info("warm start skipped: id spaces differ from %s; full fit", previous.model_version)
        return None
    log.info("warm start from %s", previous.model_version)
    return model


def train_and_evaluate(settings: Settings, run_date: date) -> ModelRun:
    """Train, evaluate against popularity, apply the promotion gate, record model_runs."""
    marts = load_marts(settings)
    interactions = known_interactions(marts)
    params = model_params(settings)
    version = model_version(run_date, data_fingerprint(marts), params)

    split = split_interactions(interactions, marts.items, run_date, settings.holdout_days)
    eval_data = build_dataset(training_marts(marts, split.train), split.train, user_feature_names(marts))
    eval_model = train_model(settings, eval_data, split.train)
    threads = scoring_threads(settings)
    metrics = evaluate(model_embeddings(eval_model, eval_data), eval_data, split, marts.recipients,
                       settings.top_k, settings.seed, threads)
    popularity = popularity_embeddings(eval_data.interaction_matrices(split.train)[0])
    baseline = evaluate(popularity, eval_data, split, marts.recipients, settings.top_k, settings.seed, threads)

    previous = last_published(settings, run_date)
    value, baseline_value = primary_value(metrics), primary_value(baseline)
    previous_value = None if previous is None else previous.primary_value
    promoted, reason = promotion_decision(value, baseline_value, previous_value, settings.promotion_tolerance)

    final_data = build_dataset(marts, interactions)
    start = _warm_start(previous, final_data)
    if start is None:
        if eval_data.id_maps() != final_data.id_maps():
            raise MartDataError("evaluation and final datasets have different id/feature spaces")
        start = eval_model
    final_model = train_model(settings, final_data, interactions, warm_start=start, epochs=refit_epochs(settings))
    artifact = save_artifact(settings, version, final_model, final_data.id_maps(),
                             {"model": metrics, "baseline": baseline})
    start, end = data_window(interactions, run_date)
    run = ModelRun(
        model_version=version, run_date=run_date,
        trained_at=datetime.now(timezone.utc).replace(tzinfo=None),
        data_window_start=start, data_window_end=end,
        params=params, metrics=metrics, baseline_metrics=baseline,
        primary_metric=PRIMARY_METRIC, primary_value=value, baseline_value=baseline_value,
        previous_value=previous_value, is_published=False, decision_reason=reason,
        artifact_path=str(artifact), is_promoted=promoted,
    )
    record_run(settings, run)
    return run


def score_candidates(settings: Settings, run_date: date) -> int:
    """Write run_date's recommendation_candidates (0 rows, partition cleared, when not promoted)."""
    run = run_for(settings, run_date)
    if run is None:
        raise MartDataError(f"model_runs has no run for {run_date}: run train_and_evaluate first")
    if not run.is_promoted:
        log.warning("no candidates for %s: model %s not promoted (%s)",
                    run_date, run.model_version, run.decision_reason)
        return write_candidates(settings, run_date, pd.DataFrame(columns=COLUMNS))
    marts = load_marts(settings)
    if model_version(run_date, data_fingerprint(marts), run.params) != run.model_version:
        raise MartDataError(
            f"the ML marts changed since model {run.model_version} was trained for {run_date}; "
            "re-run train_and_evaluate before scoring"
        )
    interactions = known_interactions(marts)
    dataset = build_dataset(marts, interactions)
    model, _ = load_artifact(run.artifact_path)
    owned = dataset.interaction_matrices(interactions)[0]
    embeddings = model_embeddings(model, dataset)
    scorers = Scorers(model=embeddings, popularity=popularity_embeddings(owned),
                      explainer=model_explainer(model, dataset, embeddings, owned))
    frame = score_all(settings, run_date, run.model_version, dataset, scorers,
                      build_rule_context(dataset, owned), marts.recipients)
    return write_candidates(settings, run_date, frame)
