"""Synthetic ML marts with a planted topic structure, for tests and the ML benchmark.

Each person has one or two latent topics (from the shared taxonomy seed) and interacts mostly
with items of those topics, on the platform and at partners; ~30% of persons are known on both
sides, so a good model can carry platform behaviour across to partner items. A few items are
launched inside the holdout window, so they have no training interactions (cold-start items).
The tables have exactly the columns of the dbt marts in docs/interfaces.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import duckdb
import numpy as np
import pandas as pd

from ml.evaluate import interaction_shares
from xrec.config import DEFAULT_PARTNERS, PLATFORM, PROJECT_ROOT

log = logging.getLogger(__name__)

TAXONOMY_SEED = PROJECT_ROOT / "dbt_project" / "seeds" / "topic_taxonomy.csv"
CITIES = ("shanghai", "beijing", "shenzhen", "hangzhou", "chengdu", "wuhan")
# Share of persons on each side: platform only, partner only, both.
SIDE_SHARES = (0.6, 0.1, 0.3)
TOPIC_LOYALTY = 0.85  # share of a person's interactions that follow their latent topics
NEW_ITEM_SHARE = 0.05  # items launched inside the holdout window


@dataclass(frozen=True)
class SyntheticSize:
    """How big the synthetic warehouse is."""

    persons: int = 1500
    courses: int = 150
    items_per_partner: int = 100
    platform_rate: float = 12.0  # mean platform interactions per platform person
    partner_rate: float = 6.0  # mean interactions per (person, partner joined)
    days: int = 60  # history length before run_date

    @classmethod
    def like_users(cls, users: int) -> SyntheticSize:
        """A size comparable to `xrec generate --users N` (200k -> ~5M interactions, 20k items)."""
        return cls(
            persons=users,
            courses=max(150, users // 25),
            items_per_partner=max(100, users // 40),
            platform_rate=22.0,
            partner_rate=8.0,
        )


def _items(rng: np.random.Generator, size: SyntheticSize, partners: tuple[str, ...]) -> pd.DataFrame:
    taxonomy = pd.read_csv(TAXONOMY_SEED)
    platform_topics = np.sort(taxonomy.loc[taxonomy["source"] == PLATFORM, "topic"].unique())
    frames = []
    for source in (PLATFORM, *partners):
        cats = taxonomy[taxonomy["source"] == source]
        if cats.empty:  # a partner the seed does not know yet: borrow the home categories
            cats = taxonomy[taxonomy["source"] == "home"].assign(source=source)
        n = size.courses if source == PLATFORM else size.items_per_partner
        pick = rng.integers(0, len(cats), n)
        # The planted latent topic of an item is one of the platform's topics, whatever its
        # category, so every catalogue has items of every topic to discriminate between.
        latent = np.asarray(platform_topics)[rng.integers(0, len(platform_topics), n)]
        item_id = ("c" if source == PLATFORM else source[:2]) + pd.Series(np.arange(n)).astype(str)
        frames.append(
            pd.DataFrame(
                {
                    "source": source,
                    "item_id": item_id.to_numpy(),
                    "category": cats["category"].to_numpy()[pick],
                    "topic": latent,
                }
            )
        )
    items = pd.concat(frames, ignore_index=True)
    n = len(items)
    items["item_key"] = items["source"] + ":" + items["item_id"]
    items["title"] = items["category"] + " " + items["item_id"]
    items["price"] = np.round(rng.lognormal(6, 1, n), 2)
    items["price_band"] = pd.cut(items["price"], [0, 200, 1000, np.inf], labels=["low", "mid", "high"]).astype(str)
    city_bound = items["source"] == "realty"
    items["city"] = np.where(city_bound, np.asarray(CITIES)[rng.integers(0, len(CITIES), n)], None)
    items["risk_level"] = pd.array(np.where(items["source"] == "finance", rng.integers(1, 6, n), 0), dtype="Int64")
    items.loc[items["source"] != "finance", "risk_level"] = pd.NA
    items["is_active"] = rng.random(n) > 0.05
    items["is_new"] = rng.random(n) < NEW_ITEM_SHARE
    return items


def _persons(rng: np.random.Generator, size: SyntheticSize, topics: np.ndarray) -> pd.DataFrame:
    n = size.persons
    side = rng.choice(3, n, p=SIDE_SHARES)
    person_id = "p" + pd.Series(np.arange(n)).astype(str).str.zfill(7)
    birth_year = rng.integers(1960, 2004, n)
    city = np.asarray(CITIES, dtype=object)[rng.integers(0, len(CITIES), n)]
    city[rng.random(n) < 0.2] = None
    return pd.DataFrame(
        {
            "person_id": person_id.to_numpy(),
            "platform_user_id": np.where(side != 1, "u" + pd.Series(np.arange(n)).astype(str), None),
            "city": city,
            "birth_year": birth_year,
            "age_band": (birth_year // 10 * 10).astype(str) + "s",
            "city_tier": pd.array(np.where(pd.isna(city), 0, 1 + rng.integers(0, 3, n)), dtype="Int64"),
            "risk_tolerance": rng.integers(1, 6, n),
            "segment_id": rng.integers(0, 8, n),
            "email_sha256": None,
            "phone_sha256": None,
            "on_platform": side != 1,
            "on_partners": side != 0,
            "topic_a": topics[rng.integers(0, len(topics), n)],
            "topic_b": topics[rng.integers(0, len(topics), n)],
        }
    )


def _draw(rng, persons: pd.DataFrame, items: pd.DataFrame, owners: np.ndarray, rate: float) -> pd.DataFrame:
    """Interactions of the persons at `owners` with `items`, following their topics."""
    counts = rng.poisson(rate, len(owners)) + 1
    who = np.repeat(owners, counts)
    loyal = rng.random(len(who)) < TOPIC_LOYALTY
    topic = np.where(rng.random(len(who)) < 0.6, persons["topic_a"].to_numpy()[who], persons["topic_b"].to_numpy()[who])
    pick = rng.integers(0, len(items), len(who))  # the disloyal draws: any item of this catalogue
    by_topic = items.reset_index(drop=True).groupby("topic").indices
    for name, members in by_topic.items():  # few topics; vectorised within each
        rows = np.flatnonzero(loyal & (topic == name))
        pick[rows] = members[rng.integers(0, len(members), len(rows))]
    return pd.DataFrame({"person": who, "item": items.index.to_numpy()[pick]})


def build_marts(
    con: duckdb.DuckDBPyConnection,
    run_date: date,
    size: SyntheticSize = SyntheticSize(),
    partners: tuple[str, ...] = DEFAULT_PARTNERS,
    seed: int = 0,
) -> None:
    """Create marts.ml_* tables in `con` holding a synthetic world up to `run_date`."""
    rng = np.random.default_rng(seed)
    items = _items(rng, size, partners)
    platform_topics = items.loc[items["source"] == PLATFORM, "topic"].unique()
    persons = _persons(rng, size, np.sort(platform_topics))

    draws = [
        _draw(
            rng, persons, items[items["source"] == PLATFORM], np.flatnonzero(persons["on_platform"]), size.platform_rate
        )
    ]
    partner_side = np.flatnonzero(persons["on_partners"])
    joined = rng.random((len(partner_side), len(partners))) < 0.5
    joined[np.arange(len(partner_side)), rng.integers(0, len(partners), len(partner_side))] = True
    recipients = [
        persons.loc[persons["on_platform"], ["person_id", "platform_user_id"]]
        .rename(columns={"platform_user_id": "recipient_id"})
        .assign(recipient_source=PLATFORM)
    ]
    for j, partner in enumerate(partners):
        members = partner_side[joined[:, j]]
        draws.append(_draw(rng, persons, items[items["source"] == partner], members, size.partner_rate))
        recipients.append(
            pd.DataFrame(
                {
                    "person_id": persons["person_id"].to_numpy()[members],
                    "recipient_id": partner[:2] + "c" + pd.Series(members).astype(str).to_numpy(),
                    "recipient_source": partner,
                }
            )
        )
    pairs = pd.concat(draws, ignore_index=True)
    just_joined = rng.random(len(persons)) < 0.03  # recipients without any interaction (cold)
    pairs = pairs[~just_joined[pairs["person"].to_numpy()]]
    pairs["events"] = rng.integers(1, 4, len(pairs))
    inter = pairs.groupby(["person", "item"], as_index=False).agg(event_count=("events", "sum"))
    start = datetime.combine(run_date, time()) - timedelta(days=size.days)
    # New items only get interactions in the last few days before run_date (cold-start items).
    new = items["is_new"].to_numpy()[inter["item"].to_numpy()]
    offset_days = np.where(
        new, size.days - rng.uniform(0.1, 5, len(inter)), rng.uniform(0, size.days - 0.1, len(inter))
    )
    inter["first_at"] = pd.Timestamp(start) + pd.to_timedelta(offset_days, unit="D").round("s")
    inter["last_at"] = inter["first_at"]
    inter["weight"] = np.log1p(inter["event_count"]).astype(float)
    inter["person_id"] = persons["person_id"].to_numpy()[inter["person"]]
    inter["item_key"] = items["item_key"].to_numpy()[inter["item"]]

    recipients = pd.concat(recipients, ignore_index=True)
    item_features = pd.concat(
        [
            items[["item_key"]].assign(feature="source:" + items["source"]),
            items[["item_key"]].assign(feature="category:" + items["category"]),
            items[["item_key"]].assign(feature="topic:" + items["topic"]),
            items[["item_key"]].assign(feature="price_band:" + items["price_band"]),
            items.loc[items["risk_level"].notna(), ["item_key"]].assign(
                feature="risk:" + items["risk_level"].dropna().astype(str)
            ),
            items.loc[items["city"].notna(), ["item_key"]].assign(feature="city:" + items["city"].dropna()),
        ],
        ignore_index=True,
    ).assign(value=1.0)
    # Like marts.ml_person_features: attributes with value 1, and the interaction-derived shares
    # (topic:, risk:, ...) by the same rule the evaluation recomputes them with.
    person_features = pd.concat(
        [
            pd.DataFrame(
                {"person_id": persons["person_id"], "feature": "age_band:" + persons["age_band"], "value": 1.0}
            ),
            persons.loc[persons["city"].notna(), ["person_id"]].assign(
                feature="city:" + persons["city"].dropna(), value=1.0
            ),
            pd.DataFrame(
                {
                    "person_id": persons["person_id"],
                    "feature": "segment:" + persons["segment_id"].astype(str),
                    "value": 1.0,
                }
            ),
            recipients.assign(feature="account:" + recipients["recipient_source"], value=1.0)[
                ["person_id", "feature", "value"]
            ],
            interaction_shares(inter, item_features),
        ],
        ignore_index=True,
    )

    tables = {
        "ml_persons": persons.drop(columns=["on_platform", "on_partners", "topic_a", "topic_b"]),
        "ml_recipients": recipients.assign(email_sha256=None, phone_sha256=None),
        "ml_items": items.drop(columns=["is_new"]),
        "ml_interactions": inter[["person_id", "item_key", "weight", "event_count", "first_at", "last_at"]],
        "ml_person_features": person_features,
        "ml_item_features": item_features,
    }
    con.execute("create schema if not exists marts")
    for name, frame in tables.items():
        con.register("_frame", frame)
        con.execute(f"create or replace table marts.{name} as select * from _frame")
        con.unregister("_frame")
    # Typed like the dbt marts (pandas object columns full of None arrive as INTEGER/VARCHAR guesses).
    con.execute("alter table marts.ml_items alter risk_level type integer")
    con.execute("alter table marts.ml_items alter city type varchar")
    con.execute("alter table marts.ml_persons alter city type varchar")
    log.info(
        "synthetic marts: %d persons, %d items, %d interactions",
        len(persons),
        len(items),
        len(inter),
    )
