"""Model selection on the run's own data: a grid of LightFM candidates with early stopping,
chosen on the validation window, each also measured on the test window; popularity beside them.

Every candidate is trained on the validation split's training rows (everything before the
validation window, without the cross-domain cohorts' partner history), checked every
`eval_every` epochs on the validation cohort's cross-domain precision@k, and stopped at the first
check that does not improve; its best state is then also scored on the test split (it never saw
that window either). Only the validation value chooses; the test values are there so a data
scientist can see whether the choice held up.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd

from ml.baseline import popularity_embeddings
from ml.config import LIGHTFM, POPULARITY, ModelConfig, SelectionConfig
from ml.dataset import Marts, RecDataset, build_dataset, known_interactions
from ml.embeddings import model_embeddings
from ml.evaluate import TimeSplit, cross_domain_precision, split_interactions, training_marts
from ml.train import train_model
from xrec.spans import spanned

log = logging.getLogger(__name__)

CANDIDATE_COLUMNS = [
    "candidate",
    "ranker",
    "representation",
    "weighting",
    "components",
    "learning_rate",
    "epochs",
    "validation_value",
    "test_value",
    "is_selected",
    "fit_seconds",
]


@dataclass(frozen=True)
class Selection:
    """The candidates (CANDIDATE_COLUMNS, one row each) and the chosen configuration."""

    candidates: pd.DataFrame
    chosen: ModelConfig
    persons: int  # persons the selection ran on (the sample)
    interactions: int
    seconds: float


def sample_marts(marts: Marts, persons: int, seed: int) -> Marts:
    """The marts restricted to a seeded sample of `persons` persons (all when 0 or fewer exist).
    Items and their features stay whole: the catalogues are what is ranked."""
    if persons <= 0 or len(marts.persons) <= persons:
        return marts
    chosen = np.sort(np.random.default_rng(seed).choice(len(marts.persons), persons, replace=False))
    keep = marts.persons["person_id"].iloc[chosen]
    return replace(
        marts,
        persons=marts.persons.iloc[chosen].reset_index(drop=True),
        recipients=marts.recipients[marts.recipients["person_id"].isin(keep)].reset_index(drop=True),
        interactions=marts.interactions[marts.interactions["person_id"].isin(keep)].reset_index(drop=True),
        person_features=marts.person_features[marts.person_features["person_id"].isin(keep)].reset_index(drop=True),
    )


def _early_stopped(
    config: ModelConfig, dataset: RecDataset, train: pd.DataFrame, split: TimeSplit, selection: SelectionConfig
) -> dict:
    """Fit `config` eval_every epochs at a time until validation stops improving; its row."""
    started = time.perf_counter()
    model, best, epochs, trained = None, None, 0, 0
    while trained < selection.max_epochs:
        step = min(selection.eval_every, selection.max_epochs - trained)
        model = train_model(config, dataset, train, epochs=step, model=model)
        trained += step
        value = cross_domain_precision(
            model_embeddings(model, dataset),
            dataset,
            split.validation,
            selection.k,
            selection.base.seed,
            selection.score_threads,
        )
        log.info("candidate %s: validation %.4f after %d epochs", config.name, value, trained)
        if best is not None and value <= best[0]:
            break
        best, epochs = (value, copy.deepcopy(model)), trained
    validation = best[0]  # the best state's validation value, already measured: no second pass
    test = cross_domain_precision(
        model_embeddings(best[1], dataset),
        dataset,
        split.test,
        selection.k,
        selection.base.seed,
        selection.score_threads,
    )
    final = replace(config, epochs=epochs)
    return {
        "candidate": final.name,
        "ranker": LIGHTFM,
        "representation": final.representation,
        "weighting": final.weighting,
        "components": final.components,
        "learning_rate": final.learning_rate,
        "epochs": epochs,
        "validation_value": validation,
        "test_value": test,
        "fit_seconds": time.perf_counter() - started,
        "config": final,
    }


@spanned("select")
def select_model(marts: Marts, run_date: date, selection: SelectionConfig) -> Selection:
    """Try every grid candidate on `marts` (already sampled), choose on validation."""
    started = time.perf_counter()
    interactions = known_interactions(marts)
    split = split_interactions(interactions, marts.items, run_date, selection.holdout_days)
    train = split.validation.train
    features = training_marts(marts, train)
    datasets: dict[str, RecDataset] = {}
    rows = []
    for config in selection.candidates():
        if config.representation not in datasets:
            datasets[config.representation] = build_dataset(features, train, config.representation)
        rows.append(_early_stopped(config, datasets[config.representation], train, split, selection))
    any_data = next(iter(datasets.values()))
    popularity = (
        cross_domain_precision(
            popularity_embeddings(any_data.interaction_matrices(s.train)[0]),
            any_data,
            s,
            selection.k,
            selection.base.seed,
            selection.score_threads,
        )
        for s in (split.validation, split.test)
    )
    rows.append(
        {
            "candidate": POPULARITY,
            "ranker": POPULARITY,
            "representation": None,
            "weighting": None,
            "components": None,
            "learning_rate": None,
            "epochs": None,
            "validation_value": next(popularity),
            "test_value": next(popularity),
            "fit_seconds": 0.0,
            "config": None,
        }
    )
    frame = pd.DataFrame(rows)
    lightfm = frame[frame["ranker"] == LIGHTFM]
    best = lightfm.index[int(np.argmax(lightfm["validation_value"].to_numpy()))]  # first of ties: grid order
    frame["is_selected"] = frame.index == best
    chosen = frame.loc[best, "config"]
    seconds = time.perf_counter() - started
    log.info(
        "selection on %d persons, %d interactions: %s chosen (validation %.4f; popularity %.4f) in %.0fs",
        len(marts.persons),
        len(interactions),
        chosen.name,
        frame.loc[best, "validation_value"],
        frame.iloc[-1]["validation_value"],
        seconds,
    )
    return Selection(
        candidates=frame[CANDIDATE_COLUMNS],
        chosen=chosen,
        persons=len(marts.persons),
        interactions=len(interactions),
        seconds=seconds,
    )
