"""Model selection on the run's own data: a grid of LightFM candidates searched by successive
halving with early stopping, chosen on the validation window, each also measured on the test
window; popularity beside them.

Every candidate is trained on the validation split's training rows (everything before the
validation window, without the cross-domain cohorts' partner history) and checked at
SelectionConfig.check_epochs on the validation cohort's cross-domain precision@k. At each check a
candidate that did not improve stops, and only the best keep_fraction of those checked trains on
(most of the grid is told apart in the first few epochs, so most of the training is spent on the
few that can still win). Each candidate's best state is then also scored on the test split (it
never saw that window either). Only the validation value chooses; the test values, the curves
and why each candidate stopped are there so a data scientist can see whether the choice held up.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pandas as pd
from lightfm import LightFM

from ml.baseline import popularity_embeddings
from ml.config import LIGHTFM, POPULARITY, ModelConfig, SelectionConfig
from ml.dataset import Marts, RecDataset, build_dataset, known_interactions
from ml.embeddings import map_blocks, model_embeddings
from ml.evaluate import CrossDomainCheck, split_interactions, training_marts
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
    "trained_epochs",
    "stopped",
    "curve",
    "enough_epochs",
]


@dataclass(frozen=True)
class Selection:
    """The candidates (CANDIDATE_COLUMNS, one row each) and the chosen configuration."""

    candidates: pd.DataFrame
    chosen: ModelConfig
    enough_epochs: int  # the chosen candidate's (see enough_epochs)
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


@dataclass(eq=False)  # compared by identity: the halving loop tracks which ones run on
class _Candidate:
    """One grid point during the search: its model, its validation curve, why it stopped."""

    config: ModelConfig
    dataset: RecDataset
    check: CrossDomainCheck
    model: LightFM | None = None
    trained: int = 0
    curve: dict[int, float] = field(default_factory=dict)  # epochs -> validation value
    best: tuple[float, int, LightFM | None] = (-np.inf, 0, None)  # value, epochs, state
    stopped: str = ""
    seconds: float = 0.0

    def advance(self, epochs: int, train: pd.DataFrame) -> float:
        """Continue training up to `epochs` in all, then check it on validation."""
        started = time.perf_counter()
        self.model = train_model(self.config, self.dataset, train, epochs=epochs - self.trained, model=self.model)
        self.trained = epochs
        value = self.curve[epochs] = self.check(model_embeddings(self.model, self.dataset))
        self.seconds += time.perf_counter() - started
        log.info("candidate %s: validation %.4f after %d epochs", self.config.name, value, epochs)
        return value


def _halving(candidates: list[_Candidate], train: pd.DataFrame, selection: SelectionConfig) -> None:
    """Successive halving with early stopping: at each check (SelectionConfig.check_epochs)
    every running candidate is trained up to that many epochs and checked (SelectionConfig.threads
    candidates at a time); one whose value did not improve on its best stops (early stopping), and
    only the best `keep_fraction` of those checked (at least one) go on to the next check. Ties keep grid order (the sort is stable).
    Every candidate keeps its best state, so one ranked out early still competes with it."""
    running = candidates
    for epochs in selection.check_epochs():

        def advance(candidate: _Candidate, epochs: int = epochs) -> float:
            return candidate.advance(epochs, train)

        values = map_blocks(advance, running, selection.threads)
        order = np.argsort([-v for v in values], kind="stable")
        keep = max(1, math.ceil(len(running) * selection.keep_fraction))
        survivors = []
        for rank, index in enumerate(order):
            candidate, value = running[index], values[index]
            improved = value > candidate.best[0]
            continues = improved and rank < keep
            if improved:  # a candidate that trains on needs a copy of this state; one that stops does not
                candidate.best = (value, epochs, copy.deepcopy(candidate.model) if continues else candidate.model)
            if continues:
                survivors.append(candidate)
            else:
                candidate.stopped = (
                    f"ranked {rank + 1} of {len(running)} at {epochs} epochs (kept {keep})"
                    if improved
                    else f"no improvement at {epochs} epochs"
                )
                candidate.model = None  # its best state is kept
        running = [c for c in running if c in survivors]  # grid order
    for candidate in running:
        candidate.stopped = f"reached {candidate.trained} epochs (the most)"


def enough_epochs(curve: dict[int, float], tolerance: float) -> int:
    """The fewest checked epochs whose validation value is within `tolerance` (relative) of the
    curve's best: where more training stopped paying (see ml.pipeline.published_epochs)."""
    best = max(curve.values())
    return min(epochs for epochs, value in curve.items() if value >= (1 - tolerance) * best)


def _row(candidate: _Candidate, test: CrossDomainCheck, tolerance: float) -> dict:
    value, epochs, state = candidate.best
    final = replace(candidate.config, epochs=epochs)
    return {
        "candidate": final.name,
        "ranker": LIGHTFM,
        "representation": final.representation,
        "weighting": final.weighting,
        "components": final.components,
        "learning_rate": final.learning_rate,
        "epochs": epochs,
        "validation_value": value,
        "test_value": test(model_embeddings(state, candidate.dataset)),
        "fit_seconds": candidate.seconds,
        "trained_epochs": candidate.trained,
        "stopped": candidate.stopped,
        "curve": json.dumps({str(e): round(v, 6) for e, v in candidate.curve.items()}),
        "enough_epochs": enough_epochs(candidate.curve, tolerance),
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
    checks: dict[str, tuple[RecDataset, CrossDomainCheck, CrossDomainCheck]] = {}
    for representation in dict.fromkeys(c.representation for c in selection.candidates()):
        dataset = build_dataset(features, train, representation)
        # One thread per check: the parallelism is across candidates (see map_blocks), and a
        # check is small (the validation cohort, not everyone).
        validation, test = (
            CrossDomainCheck(dataset, s, selection.k, selection.base.seed) for s in (split.validation, split.test)
        )
        checks[representation] = (dataset, validation, test)
    candidates = [
        _Candidate(config, checks[config.representation][0], checks[config.representation][1])
        for config in selection.candidates()
    ]
    _halving(candidates, train, selection)
    rows = map_blocks(
        lambda c: _row(c, checks[c.config.representation][2], selection.publish_tolerance),
        candidates,
        selection.threads,
    )
    any_data, validation, test = next(iter(checks.values()))
    popularity = [
        check(popularity_embeddings(any_data.interaction_matrices(s.train)[0]))
        for check, s in ((validation, split.validation), (test, split.test))
    ]
    rows.append(
        {
            "candidate": POPULARITY,
            "ranker": POPULARITY,
            "representation": None,
            "weighting": None,
            "components": None,
            "learning_rate": None,
            "epochs": None,
            "validation_value": popularity[0],
            "test_value": popularity[1],
            "fit_seconds": 0.0,
            "trained_epochs": None,
            "stopped": None,
            "curve": None,
            "enough_epochs": None,
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
        enough_epochs=int(frame.loc[best, "enough_epochs"]),
        persons=len(marts.persons),
        interactions=len(interactions),
        seconds=seconds,
    )
