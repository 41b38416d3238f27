"""Stable A/B assignment: a recipient stays in one variant across days and processes."""

from __future__ import annotations

import numpy as np
import pandas as pd


def stable_fraction(keys: pd.Series) -> np.ndarray:
    """A number in [0, 1) per key, the same in every process and on every day.

    pandas' object hash uses a fixed key (not Python's per-process salted hash()).
    """
    hashed = pd.util.hash_pandas_object(keys.astype(str), index=False).to_numpy(np.uint64)
    return hashed / np.float64(2**64)


def is_control(partner: str, recipient_ids: pd.Series, control_share: float) -> np.ndarray:
    """True for the recipients of `partner` that get the popularity baseline (hash of both)."""
    return stable_fraction(partner + ":" + recipient_ids.astype(str)) < control_share
