"""The published lists, held in memory for lookups.

A lookup is a hash probe into one pandas Index of '<direction>|<partner>|<recipient_id>' and a
slice of column arrays sorted by that key and rank: microseconds, no I/O. The alternative, a
query per request against the read-only snapshot, was measured at S (see README, Serving API):
about 1-2 ms a query on a fresh cursor against ~10 us in memory, so memory it is; the cost is
the RSS of the lists (reported by the benchmark).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ("item_id", "rank", "score", "variant", "reason", "reason_items", "person_id", "model_version")


@dataclass(frozen=True)
class PublishedLists:
    keys: pd.Index  # unique '<direction>|<partner>|<recipient_id>', in row order
    starts: np.ndarray  # first row of each key; starts[i + 1] ends it
    columns: dict[str, np.ndarray]

    @classmethod
    def read(cls, path: Path) -> "PublishedLists":
        frame = pd.read_parquet(path).sort_values(["direction", "partner", "recipient_id", "rank"],
                                                  ignore_index=True)
        key = (frame["direction"] + "|" + frame["partner"] + "|" + frame["recipient_id"].astype(str)).to_numpy(object)
        boundary = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.empty(0, np.int64)
        return cls(keys=pd.Index(key[boundary], dtype=object), starts=np.r_[boundary, len(key)],
                   columns={name: frame[name].to_numpy() for name in COLUMNS})

    def lookup(self, direction: str, partner: str, recipient_id: str, k: int) -> dict[str, np.ndarray] | None:
        """The first k rows of a recipient's published list, or None when there is none."""
        try:  # get_loc on an object Index: ~1.5 us at 1M keys
            position = self.keys.get_loc(f"{direction}|{partner}|{recipient_id}")
        except KeyError:
            return None
        start = self.starts[position]
        stop = min(self.starts[position + 1], start + k)
        return {name: values[start:stop] for name, values in self.columns.items()}

    def __len__(self) -> int:
        return len(self.keys)
