"""The model configuration: the one place that holds hyper-parameters.

`ModelConfig` is one LightFM candidate (how persons and items are represented, how interactions
are weighted, and the fit's hyper-parameters). `SelectionConfig` is the search around it: the
grid the selection tries, early stopping, the split, the tuning sample. The step layer builds
both from `xrec.config.Settings`; nothing in `ml/` reads settings or the environment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from itertools import product

# How a person/item enters the model:
# - features: persons by their side features only (every person alike apart from them);
#   items by identity (when seen in training) + features;
# - collaborative: persons and items by identity only (a person without history scores as an
#   average person: item biases, i.e. popularity);
# - hybrid: identity (when seen in training) + side features on both sides, so a person
#   without history is scored from features alone.
FEATURES, COLLABORATIVE, HYBRID = "features", "collaborative", "hybrid"
REPRESENTATIONS = (FEATURES, COLLABORATIVE, HYBRID)
# decayed: the mart's recency-decayed event weight; binary: every interaction weighs 1.
DECAYED, BINARY = "decayed", "binary"
WEIGHTINGS = (DECAYED, BINARY)
LIGHTFM, POPULARITY = "lightfm", "popularity"


@dataclass(frozen=True)
class ModelConfig:
    """One LightFM configuration; `epochs` is how long the final fit runs."""

    representation: str = HYBRID
    weighting: str = DECAYED
    components: int = 32
    epochs: int = 10
    loss: str = "warp"
    learning_rate: float = 0.1
    item_alpha: float = 1e-6
    user_alpha: float = 1e-6
    seed: int = 42
    threads: int = 1

    def __post_init__(self) -> None:
        if self.representation not in REPRESENTATIONS:
            raise ValueError(f"representation must be one of {REPRESENTATIONS}, not {self.representation!r}")
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, not {self.weighting!r}")

    @property
    def name(self) -> str:
        """A short label, e.g. 'hybrid/binary/32c/lr0.05/15e'."""
        return f"{self.representation}/{self.weighting}/{self.components}c/lr{self.learning_rate:g}/{self.epochs}e"

    def lightfm_arguments(self) -> dict:
        """The `LightFM(...)` constructor arguments."""
        return {
            "loss": self.loss,
            "no_components": self.components,
            "learning_rate": self.learning_rate,
            "item_alpha": self.item_alpha,
            "user_alpha": self.user_alpha,
            "random_state": self.seed,
        }

    def as_dict(self) -> dict:
        """JSON-able, as recorded in model_runs.params (threads excluded: results do not depend
        on it when it is 1, and it is not a choice the selection makes)."""
        out = asdict(self)
        out.pop("threads")
        return out

    @classmethod
    def from_dict(cls, values: dict, threads: int = 1) -> ModelConfig:
        known = {name: values[name] for name in cls.__dataclass_fields__ if name in values}
        return cls(**{**known, "threads": threads})


@dataclass(frozen=True)
class SelectionConfig:
    """The search: grid x early stopping, on a train/validation/test time split."""

    base: ModelConfig = field(default_factory=ModelConfig)
    representations: tuple[str, ...] = REPRESENTATIONS
    weightings: tuple[str, ...] = WEIGHTINGS
    components: tuple[int, ...] = (32, 64)
    # LightFM's own default (0.05) and a faster one: on sparse histories 0.1 overshoots (it lost
    # to 0.05 on the latent profile), on denser ones it converges in fewer epochs.
    learning_rates: tuple[float, ...] = (0.05, 0.1)
    max_epochs: int = 30
    eval_every: int = 5  # epochs between two regular validation checks
    # Checks before the regular ones: the fast learners (lr 0.1) peak at 5-6 epochs, so checks
    # every 5 from the start let them run past their best before anyone is ranked out.
    early_checks: tuple[int, ...] = (3, 6)
    # Successive halving: after each check only this share of the candidates checked there (the
    # best on validation) trains on. Chosen on the per-epoch validation curves of all 24
    # candidates (10k users, both generator profiles): with checks (3, 6, 10, ..., 30), keeping
    # half trains 142-153 epochs in all instead of 335-385 (early stopping alone) and chooses
    # within 0.1% of the full grid's best; checks every 5 keeping half trains 210-230. Keeping a
    # third (113-118) was as good there but not at M, where the early checks of a ~1k-person
    # validation cohort are noisy: the eventual winner ranked 11th of 24 after 3 epochs.
    keep_fraction: float = 0.5
    # A published fit trains as many epochs as the chosen candidate's validation curve needed to
    # come within this share of its best (ml.select.enough_epochs, ml.pipeline.published_epochs).
    publish_tolerance: float = 0.02
    sample_persons: int = 20_000  # tuning runs on a seeded sample of persons (0 = everyone)
    holdout_days: int = 7  # test = last window before run_date, validation = the window before it
    k: int = 10
    # Candidates trained and checked at once (LightFM's fit releases the GIL; each candidate
    # trains on one thread with its own random state, so results do not depend on it).
    threads: int = 1

    def check_epochs(self) -> list[int]:
        """Epoch counts at which candidates are checked on validation: the early checks, then
        every eval_every epochs after them, the last at max_epochs."""
        early = [e for e in self.early_checks if e < self.max_epochs]
        after = (max(early, default=0) // self.eval_every + 1) * self.eval_every
        return sorted({*early, *range(after, self.max_epochs, self.eval_every), self.max_epochs})

    def candidates(self) -> list[ModelConfig]:
        """Every grid point (epochs = max_epochs; early stopping picks the real count)."""
        return [
            replace(self.base, representation=r, weighting=w, components=c, learning_rate=lr, epochs=self.max_epochs)
            for r, w, c, lr in product(self.representations, self.weightings, self.components, self.learning_rates)
        ]
