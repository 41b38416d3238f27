"""The champion and the published model, given the chosen configuration (pure: frames in,
model and metrics out; the step layer xrec.steps.model reads marts and writes tables).

The chosen configuration (for its curve's enough epochs, see published_epochs) is trained on
everything of `marts` before the test window (the step layer passes the seeded tuning sample, so
this cost does not grow with the data) and measured on
the test split beside popularity trained on the same rows; the better of the two is the champion
(popularity on a tie: it is the simpler ranker). The published LightFM model is then trained
with the same configuration on all interactions up to run_date, so its reported metrics are
those of the same configuration one window earlier.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date

from lightfm import LightFM

from ml.baseline import popularity_embeddings
from ml.config import FEATURES, LIGHTFM, POPULARITY, ModelConfig
from ml.dataset import Marts, RecDataset, build_dataset, known_interactions
from ml.embeddings import model_embeddings
from ml.evaluate import evaluate, primary_value, split_interactions, training_marts
from ml.train import train_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Champion:
    """The test-window comparison of the chosen configuration with popularity."""

    ranker: str  # LIGHTFM or POPULARITY: what is published
    config: ModelConfig
    metrics: dict  # the configuration, trained before the test window, on the test split
    baseline_metrics: dict  # popularity on the same split
    model_value: float
    baseline_value: float
    reason: str

    @property
    def value(self) -> float:
        """The champion's primary metric on the test split."""
        return self.model_value if self.ranker == LIGHTFM else self.baseline_value


def evaluate_champion(
    marts: Marts, run_date: date, config: ModelConfig, holdout_days: int, k: int, threads: int = 1
) -> Champion:
    """Train `config` before the test window; compare it with popularity on the test split."""
    interactions = known_interactions(marts)
    split = split_interactions(interactions, marts.items, run_date, holdout_days).test
    data = build_dataset(training_marts(marts, split.train), split.train, config.representation)
    model = train_model(config, data, split.train)
    metrics = evaluate(model_embeddings(model, data), data, split, marts.recipients, k, config.seed, threads)
    popularity = popularity_embeddings(data.interaction_matrices(split.train)[0])
    baseline = evaluate(popularity, data, split, marts.recipients, k, config.seed, threads)
    value, baseline_value = primary_value(metrics), primary_value(baseline)
    if value > baseline_value:
        ranker = LIGHTFM
        reason = f"LightFM {config.name} {value:.4f} beats popularity {baseline_value:.4f} on the test window"
    else:
        ranker = POPULARITY
        reason = (
            f"popularity {baseline_value:.4f} is at least as good as LightFM {config.name} {value:.4f} "
            "on the test window"
        )
    log.info("champion: %s (%s)", ranker, reason)
    return Champion(
        ranker=ranker,
        config=config,
        metrics=metrics,
        baseline_metrics=baseline,
        model_value=value,
        baseline_value=baseline_value,
        reason=reason,
    )


def published_epochs(config: ModelConfig, enough: int, tuned_rows: int, all_rows: int) -> int:
    """Epochs of the published fit of `config` (trained on `all_rows` interactions), given the
    selection's validation curve of it on the sample (`tuned_rows` interactions): `enough` is
    the fewest checked epochs whose validation value came within SelectionConfig.publish_tolerance
    of the curve's best (ml.select.enough_epochs), i.e. where more training stopped paying.

    - Identity representations (collaborative, hybrid) train `enough` epochs: a person's own
      vector gets as many updates per epoch whatever the data size, so the sample's curve is what
      it needs; the shared item and feature parameters get more updates per epoch on all rows, so
      they are at least as far along. Keeping the chosen (best) epochs instead cost ~41 s an
      epoch for hybrid at M, ~14 min for a choice at 20 epochs, for the last <2% of the value.
    - Features-only has no per-person parameter: every parameter is shared by persons, so one
      epoch over all rows gives each about all_rows / tuned_rows times the updates a sample epoch
      gave; `enough` is scaled by that ratio (rounded up). Measured at M (250k persons, 13x the
      sample's rows; features/decayed/64c/lr0.05 chosen with 25 epochs on the sample): validation
      on all persons after 1..5 epochs 0.0832, 0.0894, 0.0911, 0.0914, 0.0923, so 2 epochs (the
      scaled count) reach 97% of 5, at 2/5 of the cost.
    """
    if config.representation != FEATURES or all_rows <= tuned_rows:
        return enough
    return max(1, math.ceil(enough * tuned_rows / all_rows))


def fit_published(marts: Marts, config: ModelConfig) -> tuple[LightFM, RecDataset]:
    """The model to publish: `config` trained on every interaction up to run_date."""
    interactions = known_interactions(marts)
    dataset = build_dataset(marts, interactions, config.representation)
    return train_model(config, dataset, interactions), dataset
