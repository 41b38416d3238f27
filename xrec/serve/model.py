"""The published ranker as the API holds it: one immutable object per published bundle.

`load_model` rebuilds from a serving bundle (xrec.publish.serving) exactly what the daily score
step ranks with (xrec.steps.model.score_candidates: dataset, published embeddings, popularity, rules,
explainer), so a known person without new interactions gets the published list. Everything
model-facing of the API lives here; the HTTP layer only asks `ServingModel` for answers.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from lightfm import LightFM

from ml.ab import is_control
from ml.baseline import popularity_embeddings
from ml.config import POPULARITY, ModelConfig
from ml.dataset import Marts, RecDataset, build_dataset, known_interactions
from ml.embeddings import model_embeddings
from ml.explain import Reasons, model_explainer
from ml.ondemand import FeatureSpace, feature_space, person_row, user_vector
from ml.rules import DEFAULT_RISK_TOLERANCE, RuleContext, build_rule_context, capped_top_k, eligible_groups, mask_owned
from ml.score import Scorers, reason_sources
from xrec.catalog import CONTROL, MODEL, PARTNER_TO_PLATFORM, PLATFORM_TO_PARTNER
from xrec.config import PLATFORM, Settings
from xrec.serve.lists import PublishedLists
from xrec.steps.registry import load_artifact

log = logging.getLogger(__name__)

DIRECTIONS = (PLATFORM_TO_PARTNER, PARTNER_TO_PLATFORM)


class UnknownId(LookupError):
    """A partner, recipient or item the published model does not know (HTTP 404/422)."""


@dataclass(frozen=True)
class Person:
    """What the request says about a person: stated features and new interactions."""

    city: str | None = None
    interests: tuple[str, ...] = ()
    risk_tolerance: int | None = None
    interactions: tuple[tuple[str, float], ...] = ()  # (item_key, weight)


@dataclass(frozen=True)
class Ranked:
    item_rows: np.ndarray
    scores: np.ndarray
    reasons: Reasons
    variant: str
    known: bool
    ignored: tuple[str, ...]  # stated features the model has no embedding for


@dataclass(frozen=True)
class ServingModel:
    info: dict
    bundle: str
    dataset: RecDataset
    model: LightFM | None  # None when popularity is the published ranker
    scorers: Scorers
    rules: RuleContext
    weights: sp.csr_matrix  # persons x items interaction weights (ml_interactions)
    features: FeatureSpace
    recipients: pd.Index  # '<source>:<recipient_id>'
    recipient_rows: np.ndarray  # person row of each entry of `recipients`
    control: dict[str, np.ndarray]  # partner -> is each entry of `recipients` in its control group
    cities: pd.Index  # city codes as ml.rules.build_rule_context encodes them
    person_cities: np.ndarray  # object, per person row: the stored city or None (no pandas per request)
    item_index: pd.Index  # item_key -> item row
    domains: dict[str, slice]  # source -> its item rows
    item_ids: np.ndarray  # object, per item row
    titles: np.ndarray  # object, per item row (the item_id where there is no title)
    topics: frozenset[str]
    lists: PublishedLists
    top_k: int
    max_per_category: int
    control_share: float
    partners: tuple[str, ...]

    def domain(self, direction: str, partner: str) -> slice:
        if partner not in self.partners:
            raise UnknownId(f"unknown partner {partner!r}; known: {', '.join(self.partners)}")
        return self.domains[partner if direction == PLATFORM_TO_PARTNER else PLATFORM]

    def recipient_row(self, direction: str, partner: str, recipient_id: str) -> int:
        """The person row of a recipient (a platform user, or the partner's customer)."""
        source = PLATFORM if direction == PLATFORM_TO_PARTNER else partner
        position = position_of(self.recipients, f"{source}:{recipient_id}")
        if position < 0:
            who = "platform user" if source == PLATFORM else f"customer of {partner}"
            raise UnknownId(f"unknown recipient: no {who} {recipient_id!r} in the published model")
        return int(self.recipient_rows[position])

    def item_key(self, source: str, item_id: str) -> str:
        key = f"{source}:{item_id}"
        if position_of(self.item_index, key) < 0:
            raise UnknownId(f"unknown item {item_id!r} of source {source!r}")
        return key

    def score(self, direction: str, partner: str, recipient_id: str | None, person: Person, k: int) -> Ranked:
        """Rank the direction's items for a known recipient (stored representation plus the new
        interactions) or a new person (stated features plus interactions), every rule applied."""
        items = self.domain(direction, partner)
        row = None if recipient_id is None else self.recipient_row(direction, partner, recipient_id)
        if row is not None and not person.interactions:
            # Exactly the stored representation the daily list was ranked with.
            history = self.rules.owned[row]
            features, ignored = self.dataset.user_features[row], list[str]()
        else:
            history, features, ignored = self._represent(row, person)
        city = self.person_cities[row] if row is not None and person.city is None else person.city
        variant = CONTROL if row is not None and self._is_control(direction, partner, recipient_id) else MODEL
        rules = self._rules_for(row, history, city, person.risk_tolerance)
        popular = self._by_popularity(variant)
        users = np.ones((1, 1), np.float32) if popular else user_vector(self.model, features)
        scorer = self.scorers.popularity if popular else self.scorers.model
        # ml.score.recommend's body for one row, without its thread pool (a millisecond per request).
        row_of_rules = np.zeros(1, np.int64)  # the request's person is row 0 of `rules`
        allowed = eligible_groups(row_of_rules, items, rules)[0].items
        block = users @ scorer.items[allowed].T
        mask_owned(block, row_of_rules, allowed, rules)
        top, scores = capped_top_k(block, rules.category[allowed], min(k, len(allowed)), self.max_per_category)
        keep = np.isfinite(scores[0])
        item_rows = allowed[top[0][keep]]
        reasons = self._explain(history, features, city, item_rows, variant, direction, partner)
        return Ranked(item_rows, scores[0][keep], reasons, variant, row is not None, tuple(ignored))

    def published_json(self, direction: str, partner: str, recipient_id: str, k: int) -> bytes | None:
        """The recipient's published list as its `recommendations` JSON array, built when the
        bundle was loaded; None when there is none to send as it is (`published` renders it)."""
        self.domain(direction, partner)  # unknown partner -> UnknownId
        return self.lists.recommendations_json(direction, partner, recipient_id, k)

    def published(self, direction: str, partner: str, recipient_id: str, k: int) -> Ranked:
        """The recipient's published list, its reasons rendered as the daily scoring did."""
        self.domain(direction, partner)  # unknown partner -> UnknownId
        found = self.lists.lookup(direction, partner, recipient_id, k)
        if found is None:
            raise UnknownId(f"no published list for {direction} {partner} recipient {recipient_id!r}")
        row = self.recipient_row(direction, partner, recipient_id)
        reasons = self._explain(
            self.rules.owned[row],
            self.dataset.user_features[row],
            self.person_cities[row],
            found.item_rows,
            found.variant,
            direction,
            partner,
        )
        return Ranked(found.item_rows, found.scores, reasons, found.variant, True, ())

    def _explain(
        self,
        history: sp.spmatrix,
        features: sp.spmatrix,
        city: str | None,
        item_rows: np.ndarray,
        variant: str,
        direction: str,
        partner: str,
    ) -> Reasons:
        """The reasons the daily scoring gives (ml.score._frame): popularity-ranked rows say so."""
        return self.scorers.explainer.explain(
            history,
            features,
            np.array([city], object),
            np.zeros(len(item_rows), np.int64),
            item_rows,
            self._by_popularity(variant),
            reason_sources(direction, partner),
        )

    def _by_popularity(self, variant: str) -> bool:
        return variant == CONTROL or self.scorers.ranker == POPULARITY

    def _is_control(self, direction: str, partner: str, recipient_id: str) -> bool:
        """The recipient's A/B variant, as the daily scoring assigns it (ml.ab)."""
        source = PLATFORM if direction == PLATFORM_TO_PARTNER else partner
        position = position_of(self.recipients, f"{source}:{recipient_id}")
        return bool(self.control[partner][position])

    def _represent(self, row: int | None, person: Person) -> tuple[sp.csr_matrix, sp.csr_matrix, list[str]]:
        """(history row, feature row, ignored features): the stored features and interactions (none
        for a new person) plus the new interactions, the derived shares recomputed as the marts
        compute them; a stated city replaces the stored one, stated interests add topic weight."""
        keys, weights = zip(*person.interactions) if person.interactions else ((), ())
        columns = [position_of(self.item_index, key) for key in keys]
        new = sp.csr_matrix(
            (np.asarray(weights, np.float32), (np.zeros(len(columns), np.int64), columns)),
            shape=(1, len(self.item_index)),
        )
        history = new if row is None else self.weights[row] + new
        stated = {f"city:{person.city}": 1.0} if person.city else {}
        stated |= {f"topic:{interest}": 1.0 / len(person.interests) for interest in person.interests}
        features, ignored = person_row(self.features, row, history, stated)
        return history, features, ignored

    def _rules_for(self, row: int | None, history: sp.csr_matrix, city: str | None, risk: int | None) -> RuleContext:
        """The one-person rule context: the shared item attributes with this person's own."""
        if row is not None and risk is None:
            person_risk = self.rules.person_risk[row]
        else:
            person_risk = DEFAULT_RISK_TOLERANCE if risk is None else risk
        if city is None:
            code = -1
        else:
            code = position_of(self.cities, city)
            code = len(self.cities) if code < 0 else code  # a city without listings: none are near
        return replace(
            self.rules,
            owned=sp.csr_matrix(history, dtype=np.float32),
            person_risk=np.array([person_risk], np.float32),
            person_city=np.array([code]),
        )


def position_of(index: pd.Index, key: str) -> int:
    """Position of `key` in a unique object Index, -1 when absent (get_loc: ~1 us; get_indexer
    on a one-element list costs ~50 us of conversions)."""
    try:
        return int(index.get_loc(key))
    except KeyError:
        return -1


def bundle_folder(settings: Settings, pointer: dict) -> Path:
    return settings.artifacts / "serving" / pointer["bundle"]


def load_model(settings: Settings, folder: Path) -> ServingModel:
    """Rebuild the published ranker of a bundle folder (as xrec.steps.model.score_candidates does)."""
    info = json.loads((folder / "model.json").read_text())
    marts = Marts(
        **{
            name: pd.read_parquet(folder / f"{name}.parquet")
            for name in ("persons", "recipients", "items", "interactions", "person_features", "item_features")
        }
    )
    interactions = known_interactions(marts)
    # As xrec.steps.model.score_candidates builds what it ranks with.
    dataset = build_dataset(marts, interactions, ModelConfig.from_dict(info["params"]).representation)
    model, _ = load_artifact(info["artifact_path"])
    ones, weights = dataset.interaction_matrices(interactions)
    popularity = popularity_embeddings(ones)
    published = popularity if info["ranker"] == POPULARITY else model_embeddings(model, dataset)
    scorers = Scorers(
        model=published, popularity=popularity, ranker=info["ranker"], explainer=model_explainer(model, dataset, ones)
    )
    rules = build_rule_context(dataset, ones)
    cities = pd.Index(pd.concat([dataset.persons["city"], dataset.items["city"]]).dropna().unique(), dtype=object)
    if not np.array_equal(cities.get_indexer(dataset.persons["city"]), rules.person_city):
        raise RuntimeError("ml.rules encodes cities differently from xrec.serve.model; align them")
    recipients = marts.recipients.assign(row=dataset.user_index(marts.recipients["person_id"]))
    recipients = recipients[recipients["row"] >= 0]
    item_index = pd.Index(dataset.item_keys, dtype=object)
    titles = dataset.items["title"].fillna(dataset.items["item_id"]).astype(str).to_numpy(object)
    topics = marts.item_features["feature"][marts.item_features["feature"].str.startswith("topic:")].str[6:]
    log.info(
        "serving model %s loaded from %s: %d persons, %d items",
        info["model_version"],
        folder,
        len(dataset.person_ids),
        len(dataset.item_keys),
    )
    return ServingModel(
        info=info,
        bundle=folder.name,
        dataset=dataset,
        model=model,
        scorers=scorers,
        rules=rules,
        weights=sp.csr_matrix(weights),
        features=feature_space(dataset, marts.person_features, marts.item_features),
        recipients=pd.Index(
            (recipients["recipient_source"] + ":" + recipients["recipient_id"].astype(str)).to_numpy(object),
            dtype=object,
        ),
        recipient_rows=recipients["row"].to_numpy(),
        control={
            partner: is_control(partner, recipients["recipient_id"], settings.control_share)
            for partner in settings.partners
        },
        cities=cities,
        person_cities=dataset.persons["city"]
        .astype(object)
        .where(dataset.persons["city"].notna(), None)
        .to_numpy(object),
        item_index=item_index,
        domains={source: dataset.domain(source) for source in settings.sources},
        item_ids=dataset.items["item_id"].astype(str).to_numpy(object),
        titles=titles,
        topics=frozenset(topics.dropna().unique()),
        lists=PublishedLists.read(folder / "recommendations.parquet", item_index, titles),
        top_k=settings.top_k,
        max_per_category=settings.max_per_category,
        control_share=settings.control_share,
        partners=settings.partners,
    )
