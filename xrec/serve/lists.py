"""The published lists, held in memory for lookups.

A lookup is a hash probe (`Index.get_loc`, ~1.5 us at 1M keys) into one object Index of
'<direction>|<partner>|<recipient_id>' and a slice of compact column arrays sorted by that key and
rank: item rows (int32), scores (float32), control flags. The reason texts are not held: at M
(9.2M rows of ~650 bytes of reason and reason_items) they would take ~6 GB, so a lookup renders
the recipient's reasons with the same explainer and inputs the daily scoring used (~1 ms).
The alternative, a query per request against the read-only snapshot or the Parquet copy, costs
a DuckDB query plus a row-group scan per lookup (measured in the README, Serving API).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ml.ab import CONTROL, MODEL
from ml.score import PLATFORM_TO_PARTNER
from xrec.config import PLATFORM

# What the serving bundle copies of cross_recommendations (xrec.publish.serving).
COLUMNS = ("direction", "partner", "recipient_id", "item_id", "rank", "score", "variant")


@dataclass(frozen=True)
class Published:
    """One recipient's published list (best first)."""

    item_rows: np.ndarray
    scores: np.ndarray
    variant: str


@dataclass(frozen=True)
class PublishedLists:
    keys: pd.Index  # unique '<direction>|<partner>|<recipient_id>', in row order
    starts: np.ndarray  # first row of each key; starts[i + 1] ends it
    item_rows: np.ndarray  # int32 item row of the model's item space
    scores: np.ndarray  # float32
    control: np.ndarray  # bool per key

    @classmethod
    def read(cls, path: Path, item_index: pd.Index) -> "PublishedLists":
        frame = pd.read_parquet(path, columns=list(COLUMNS)).sort_values(
            ["direction", "partner", "recipient_id", "rank"], ignore_index=True)
        key = (frame["direction"] + "|" + frame["partner"] + "|" + frame["recipient_id"].astype(str)).to_numpy(object)
        boundary = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.empty(0, np.int64)
        source = np.where(frame["direction"] == PLATFORM_TO_PARTNER, frame["partner"], PLATFORM)
        item_rows = item_index.get_indexer(pd.Series(source, dtype=object) + ":" + frame["item_id"].astype(str))
        if (item_rows < 0).any():
            raise ValueError(f"{path}: {int((item_rows < 0).sum())} published items are not in the model's catalogue")
        return cls(keys=pd.Index(key[boundary], dtype=object), starts=np.r_[boundary, len(key)],
                   item_rows=item_rows.astype(np.int32), scores=frame["score"].to_numpy(np.float32),
                   control=(frame["variant"].to_numpy(object) == CONTROL)[boundary])

    def lookup(self, direction: str, partner: str, recipient_id: str, k: int) -> Published | None:
        """The first k rows of a recipient's published list, or None when there is none."""
        try:
            position = self.keys.get_loc(f"{direction}|{partner}|{recipient_id}")
        except KeyError:
            return None
        start = self.starts[position]
        stop = min(self.starts[position + 1], start + k)
        return Published(self.item_rows[start:stop], self.scores[start:stop],
                         CONTROL if self.control[position] else MODEL)

    def __len__(self) -> int:
        return len(self.keys)
