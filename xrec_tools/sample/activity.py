"""One day of behaviour: platform events and partner interactions, sampled in bulk.

~80% of a person's events go to items of one of their latent topics (Zipf-like popularity
inside the topic), the rest to globally popular items. Realty customers mostly look at
listings in their own city; finance customers favour products near their risk tolerance; on-topic
events on items with a facet (home style, car brand, risk grade; also the platform's
interior-design, car-culture and investment courses) mostly match the person's own value.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from xrec_tools.sample.catalogue import Catalogue
from xrec_tools.sample.frames import EVENT_COLUMNS, INTERACTION_COLUMNS, fmt_money, fmt_ts
from xrec_tools.sample.latent import LatentTaste, draw_items
from xrec_tools.sample.population import Customers, People, PlatformUsers

ON_TOPIC_SHARE = 0.8
SECOND_TOPIC_SHARE = 0.4  # share of a two-topic person's on-topic events on topic two
PLATFORM_EVENTS_PER_USER_DAY = 2.0
PARTNER_EVENTS_PER_CUSTOMER_DAY = 0.7
LOCAL_LISTING_SHARE = 0.85  # realty interactions restricted to the customer's city
FACET_MATCH_SHARE = 0.9  # on-topic facet events restricted to the person's value
RISK_AFFINITY = 3.0  # finance: weight exp(-k * |risk_level - tolerance|)
GLOBAL_POPULARITY_POWER = 1.0  # the "globally popular" share follows popularity as is
# Event mixes (on-topic, off-topic): on-topic events convert more.
PLATFORM_TYPES = np.array(["view", "purchase", "complete", "rate"])
PLATFORM_MIX = ([0.66, 0.16, 0.11, 0.07], [0.86, 0.08, 0.04, 0.02])
PARTNER_TYPES = np.array(["view", "favorite", "inquiry", "purchase"])
PARTNER_MIX = ([0.70, 0.14, 0.10, 0.06], [0.88, 0.06, 0.04, 0.02])
RATING_MIX = ([0.02, 0.04, 0.12, 0.37, 0.45], [0.10, 0.20, 0.32, 0.25, 0.13])
# Hourly activity profile (local time): quiet nights, lunch and evening peaks.
HOUR_WEIGHTS = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 3, 3, 3.5, 4, 3.5, 3, 3, 3, 3.5, 4.5, 5.5, 6, 5.5, 4, 2.5]
)


def _actors(people: People, day: int, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Who acts today: Poisson volume over present people, weighted by activity."""
    present = np.flatnonzero(people.first_day <= day)
    n = rng.poisson(rate * len(present))
    if n == 0:
        return present[:0]
    weights = people.activity[present]
    return rng.choice(present, size=n, p=weights / weights.sum())


def _event_topics(topics: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Topic per event, -1 for an off-topic (globally popular) pick."""
    n = len(topics)
    second = (topics[:, 1] >= 0) & (rng.random(n) < SECOND_TOPIC_SHARE)
    topic = np.where(second, topics[:, 1], topics[:, 0])
    return np.where(rng.random(n) < ON_TOPIC_SHARE, topic, -1)


def _facet_context(
    cat: Catalogue, people: People, actors: np.ndarray, topic: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Per on-topic event whose topic has a facet in ``cat``: mostly the actor's preferred value."""
    size = int(max(cat.topic.max(initial=-1), topic.max(initial=-1))) + 2  # last slot: topic -1
    kinds = np.unique(cat.facet_kind)
    # a catalogue whose every item has the same facet (home styles, automod brands): the taste
    # also steers the off-topic (popular) picks; a course catalogue mixes facets and untagged topics
    topic_kind = np.full(size, kinds[0] if len(kinds) == 1 else -1, dtype=np.int64)
    topic_kind[cat.topic] = cat.facet_kind  # one kind per topic within a catalogue
    kind = topic_kind[topic]
    value = np.take_along_axis(people.facets[actors], np.maximum(kind, 0)[:, None], axis=1)[:, 0]
    return np.where((kind >= 0) & (rng.random(len(actors)) < FACET_MATCH_SHARE), value, -1)


def _affinity(cat: Catalogue, context: int) -> np.ndarray | float:
    if context < 0:
        return 1.0
    if cat.source == "realty":
        return (cat.city == context).astype(float)
    if cat.source == "finance":
        return np.exp(-RISK_AFFINITY * np.abs(cat.risk_level - context))
    return (cat.facet == context).astype(float)


def _pick_items(
    cat: Catalogue, day: int, topic: np.ndarray, context: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Item index per event; one weighted draw per (topic, context) group, not per row."""
    available = (cat.first_day <= day) & cat.is_active
    on_topic_base = cat.popularity * available
    global_base = cat.popularity**GLOBAL_POPULARITY_POWER * available
    items = np.empty(len(topic), dtype=np.int64)
    groups, inverse = np.unique(np.stack([topic, context], axis=1), axis=0, return_inverse=True)
    for g, (t, ctx) in enumerate(groups):
        rows = np.flatnonzero(inverse.ravel() == g)
        base = on_topic_base * (cat.topic == t) if t >= 0 else global_base
        weights = base * _affinity(cat, int(ctx))
        if weights.sum() <= 0:  # e.g. no listing in that city yet: fall back to the topic
            weights = base if base.sum() > 0 else global_base
        items[rows] = rng.choice(len(weights), size=len(rows), p=weights / weights.sum())
    return items


def _times(run_date: date, n: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted moments inside ``run_date`` following the hourly profile."""
    hours = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    seconds = np.sort(hours * 3600 + rng.integers(0, 3600, n))
    return np.datetime64(run_date.isoformat(), "s") + seconds.astype("timedelta64[s]")


def _types(types: np.ndarray, mix: tuple[list, list], on_topic: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = rng.choice(types, size=len(on_topic), p=mix[1]).astype(object)
    out[on_topic] = rng.choice(types, size=int(on_topic.sum()), p=mix[0])
    return out


def _ids(prefix: str, run_date: date, n: int) -> np.ndarray:
    seq = pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(7)
    return (f"{prefix}{run_date:%Y%m%d}-" + seq).to_numpy(dtype=object)


def _latent_picks(
    actor_taste: np.ndarray, cat: Catalogue, day: int, taste: LatentTaste, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(item per event, whether it matches the actor's taste) in the latent profile."""
    vectors = taste.items[cat.source]
    item = draw_items(
        actor_taste, vectors, taste.log_popularity[cat.source], (cat.first_day <= day) & cat.is_active, rng
    )
    return item, (actor_taste * vectors[item]).sum(axis=1) > 0


def platform_events(
    users: PlatformUsers,
    courses: Catalogue,
    day: int,
    run_date: date,
    rng: np.random.Generator,
    taste: LatentTaste | None = None,
) -> pd.DataFrame:
    """platform/events for one day (string cells, ordered by occurred_at); `taste` switches to
    the latent profile's choices."""
    actors = _actors(users.people, day, PLATFORM_EVENTS_PER_USER_DAY, rng)
    if taste is None:
        topic = _event_topics(users.people.topics[actors], rng)
        context = _facet_context(courses, users.people, actors, topic, rng)
        course = _pick_items(courses, day, topic, context, rng)
        on_topic = topic >= 0
    else:
        course, on_topic = _latent_picks(taste.users[actors], courses, day, taste, rng)
    event_type = _types(PLATFORM_TYPES, PLATFORM_MIX, on_topic, rng)
    rating = (
        np.where(
            on_topic, rng.choice(5, size=len(actors), p=RATING_MIX[0]), rng.choice(5, size=len(actors), p=RATING_MIX[1])
        )
        + 1
    )
    return pd.DataFrame(
        {
            "event_id": _ids("E", run_date, len(actors)),
            "user_id": users.user_id[actors],
            "course_id": courses.item_id[course],
            "event_type": event_type,
            "rating": np.where(event_type == "rate", rating.astype(str), "").astype(object),
            "amount": np.where(event_type == "purchase", fmt_money(courses.price_cents[course]), ""),
            "occurred_at": fmt_ts(_times(run_date, len(actors), rng)),
        },
        columns=EVENT_COLUMNS,
        dtype=object,
    )


def partner_interactions(
    customers: Customers,
    items: Catalogue,
    day: int,
    run_date: date,
    rng: np.random.Generator,
    ts_suffix: str,
    taste: LatentTaste | None = None,
) -> pd.DataFrame:
    """<partner>/interactions for one day (string cells, ordered by occurred_at); `taste`
    switches to the latent profile's choices."""
    people = customers.people
    actors = _actors(people, day, PARTNER_EVENTS_PER_CUSTOMER_DAY, rng)
    if taste is None:
        topic = _event_topics(customers.partner_topics[actors], rng)
        if items.source == "realty":
            context = np.where(rng.random(len(actors)) < LOCAL_LISTING_SHARE, people.city[actors], -1)
        elif items.source == "finance":
            context = people.risk_tolerance[actors]
        else:
            context = _facet_context(items, people, actors, topic, rng)
        item = _pick_items(items, day, topic, context, rng)
        on_topic = topic >= 0
    else:
        item, on_topic = _latent_picks(taste.customers[customers.partner][actors], items, day, taste, rng)
    event_type = _types(PARTNER_TYPES, PARTNER_MIX, on_topic, rng)
    return pd.DataFrame(
        {
            "interaction_id": _ids(customers.partner[0].upper(), run_date, len(actors)),
            "customer_id": customers.customer_id[actors],
            "item_id": items.item_id[item],
            "event_type": event_type,
            "amount": np.where(event_type == "purchase", fmt_money(items.price_cents[item]), ""),
            "occurred_at": fmt_ts(_times(run_date, len(actors), rng), ts_suffix),
        },
        columns=INTERACTION_COLUMNS,
        dtype=object,
    )
