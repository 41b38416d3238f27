"""The shared topic taxonomy and canonical cities (the dbt seeds), as the generator uses them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from xrec.config import PROJECT_ROOT

SEEDS_DIR = PROJECT_ROOT / "dbt_project" / "seeds"


@dataclass(frozen=True)
class Taxonomy:
    """Topics, each source's categories (seed order) and the canonical cities."""

    topics: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]
    category_topic: dict[str, np.ndarray]
    cities: tuple[str, ...]
    cities_zh: tuple[str, ...]
    city_tiers: np.ndarray

    def source_topics(self, source: str) -> np.ndarray:
        """Sorted topic indices a source has categories for."""
        return np.unique(self.category_topic[source])

    def categories_by_topic(self, source: str) -> list[np.ndarray]:
        """For each topic index, the source's category indices in that topic (may be empty)."""
        cat_topic = self.category_topic[source]
        return [np.flatnonzero(cat_topic == t) for t in range(len(self.topics))]


@lru_cache(maxsize=4)
def load_taxonomy(seeds_dir: Path = SEEDS_DIR) -> Taxonomy:
    """Read ``topic_taxonomy.csv`` and ``cities.csv`` from the dbt seeds folder."""
    taxonomy = pd.read_csv(seeds_dir / "topic_taxonomy.csv", dtype=str)
    cities = pd.read_csv(seeds_dir / "cities.csv", dtype={"city": str, "name_zh": str})
    topics = tuple(sorted(taxonomy["topic"].unique()))
    topic_index = {topic: i for i, topic in enumerate(topics)}
    categories, category_topic = {}, {}
    for source, rows in taxonomy.groupby("source", sort=False):
        categories[source] = tuple(rows["category"])
        category_topic[source] = rows["topic"].map(topic_index).to_numpy(dtype=np.int64)
    return Taxonomy(
        topics=topics,
        categories=categories,
        category_topic=category_topic,
        cities=tuple(cities["city"]),
        cities_zh=tuple(cities["name_zh"]),
        city_tiers=cities["city_tier"].to_numpy(dtype=np.int64),
    )
