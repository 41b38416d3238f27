"""The `latent` sample profile: taste that no feature exposes.

The default profile plants what the marts' features can see (topics, facets, cities). Here a
person's choices follow hidden taste vectors instead: every person has one (a linked partner
customer shares their platform user's), every item one that its category explains only in part,
and an event picks an item with probability proportional to popularity (steep, Zipf-like, over
the whole catalogue) times exp(TASTE_WEIGHT * person . item). Nothing in the extracts carries the
vectors, so only collaborative signal (who chose what) can recover them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT, LATENT = "default", "latent"
PROFILES = (DEFAULT, LATENT)
DIMENSIONS = 4
TASTE_WEIGHT = 5.0  # log-odds per unit of taste match (taste . item has sd 1/sqrt(DIMENSIONS))
ZIPF_EXPONENT = 1.0  # global popularity within a catalogue: steep (1/rank)
CATEGORY_SHARE = 0.3  # share of an item's taste vector its category explains
BLOCK_CELLS = 1 << 22  # events x items scored at once when drawing


@dataclass
class LatentTaste:
    """Hidden taste vectors aligned with the world's people and catalogues."""

    users: np.ndarray  # (platform users, DIMENSIONS)
    customers: dict[str, np.ndarray]  # partner -> (customers, DIMENSIONS)
    items: dict[str, np.ndarray]  # source -> (items, DIMENSIONS)
    log_popularity: dict[str, np.ndarray]  # source -> (items,)


def _vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0.0, 1.0 / np.sqrt(DIMENSIONS), (n, DIMENSIONS))


def build_taste(
    n_users: int, customers: dict[str, np.ndarray], catalogues: dict[str, np.ndarray], rng: np.random.Generator
) -> LatentTaste:
    """`customers`: partner -> platform index per customer (-1 for partner-only people);
    `catalogues`: source -> category index per item."""
    users = _vectors(n_users, rng)
    people = {}
    for partner, platform_index in customers.items():
        own = _vectors(len(platform_index), rng)
        linked = platform_index >= 0
        own[linked] = users[platform_index[linked]]
        people[partner] = own
    items, popularity = {}, {}
    for source, category in catalogues.items():
        by_category = _vectors(int(category.max(initial=0)) + 1, rng)[category]
        items[source] = np.sqrt(CATEGORY_SHARE) * by_category + np.sqrt(1 - CATEGORY_SHARE) * _vectors(
            len(category), rng
        )
        rank = rng.permutation(len(category))
        popularity[source] = -ZIPF_EXPONENT * np.log1p(rank)
    return LatentTaste(users=users, customers=people, items=items, log_popularity=popularity)


def draw_items(
    taste: np.ndarray, items: np.ndarray, log_popularity: np.ndarray, available: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One item per row of `taste` (the actors' vectors), by the Gumbel-max trick over
    log popularity + TASTE_WEIGHT * taste . item, among `available` items; in blocks."""
    base = np.where(available, log_popularity, -np.inf)
    picks = np.empty(len(taste), np.int64)
    step = max(1, BLOCK_CELLS // max(1, len(base)))
    for start in range(0, len(taste), step):
        block = slice(start, min(start + step, len(taste)))
        logits = base + TASTE_WEIGHT * (taste[block] @ items.T)
        picks[block] = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    return picks
