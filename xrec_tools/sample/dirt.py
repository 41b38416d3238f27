"""Planted dirt: documented small rates of the mess real extracts carry.

Value-level dirt (missing optional values, city/category spelling variants) is applied while
rendering; record-level dirt (contract violations, exact duplicate rows, re-sent events, malformed
rows) is planted on a rendered frame and tagged in its ``PLANT_COLUMN`` so the writer can report
the physical line each planted record landed on. No row ever carries two plants.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from xrec_tools.sample.taxonomy import Taxonomy

PLANT_COLUMN = "__plant"


@dataclass(frozen=True)
class DirtRates:
    """Per-row probabilities (per file unless said otherwise); recorded in the manifest."""

    missing_city: float = 0.03
    missing_birth_year: float = 0.04
    city_variant: float = 0.25  # 'Shanghai', ' shanghai', 'SHANGHAI', '上海', '上海市'
    category_variant: float = 0.05  # 'Interior Design ', 'INTERIOR_DESIGN', ...
    duplicate_row: float = 0.001  # exact copy of a row later in the same file
    resent_event: float = 0.0005  # event/interaction re-sent in the next drop, same id
    violation: float = 0.001  # contract violations the loader must quarantine
    malformed_rows: int = 2  # rows with a wrong field count, in the whole sample

    def as_dict(self) -> dict:
        return asdict(self)


DIRT = DirtRates()

# Rules per entity kind; 'required:<id>' is filled with the entity's id column.
EVENT_RULES = ("enum:event_type", "range:rating", "future:occurred_at", "type:occurred_at", "required")
INTERACTION_RULES = ("enum:event_type", "future:occurred_at", "type:occurred_at", "required")
ITEM_RULES = ("range:price", "required")
PERSON_RULES = ("required",)
BAD_EVENT_TYPES = np.array(["share", "like", "download", "click"])
BAD_TIMESTAMPS = np.array(["2026-13-45T25:61:00", "yesterday 10:00", "31/11/2026 09:15", "N/A"])


def city_variants(city: np.ndarray, tax: Taxonomy, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Render canonical city indices (-1 = none) as strings, ``rate`` of them as variants."""
    canon = pd.Series(tax.cities)
    zh = pd.Series(tax.cities_zh)
    table = np.stack(
        [canon, canon.str.title(), " " + canon, canon.str.upper(), zh, zh + "市", canon + " "], axis=1
    ).astype(object)
    variant = np.where(rng.random(len(city)) < rate, rng.integers(1, table.shape[1], len(city)), 0)
    out = table[np.maximum(city, 0), variant]
    out[city < 0] = ""
    return out


def category_variants(names: np.ndarray, rate: float, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Category names with ``rate`` of them spelled 'Interior Design ', 'INTERIOR_DESIGN', ..."""
    series = pd.Series(names, dtype=object)
    spaced = series.str.replace("_", " ")
    variants = [spaced.str.title() + " ", series.str.upper(), spaced, " " + series.str.title()]
    pick = np.where(rng.random(len(series)) < rate, rng.integers(1, len(variants) + 1, len(series)), 0)
    out = series.copy()
    for k, variant in enumerate(variants, start=1):
        out[pick == k] = variant[pick == k]
    return out.to_numpy(dtype=object), int((pick > 0).sum())


def blank_some(values: np.ndarray, rate: float, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Empty ``rate`` of the values (missing optional attributes)."""
    mask = rng.random(len(values)) < rate
    out = values.astype(object).copy()
    out[mask] = ""
    return out, int(mask.sum())


def _free_rows(frame: pd.DataFrame) -> np.ndarray:
    return np.flatnonzero(frame[PLANT_COLUMN].to_numpy() == "")


def plant_violations(
    frame: pd.DataFrame,
    id_column: str,
    rules: tuple[str, ...],
    n: int,
    run_date: date,
    ts_suffix: str,
    rng: np.random.Generator,
    rule_offset: int = 0,
) -> tuple[pd.DataFrame, list[dict]]:
    """Break ``n`` distinct clean rows, cycling through ``rules``; returns (frame, records)."""
    free = _free_rows(frame)
    n = min(n, len(free))
    if n == 0:
        return frame, []
    rows = np.sort(rng.choice(free, size=n, replace=False))
    frame = frame.copy()
    records = []
    for i, row in enumerate(rows):  # n is ~0.1% of the rows: a short loop over planted rows only
        rule = rules[(rule_offset + i) % len(rules)]
        record_id = original_id = frame.at[row, id_column]
        if rule == "required":
            rule, record_id = f"required:{id_column}", None
            frame.at[row, id_column] = ""
        elif rule == "range:price":
            frame.at[row, "price"] = f"-{rng.integers(1, 5000)}.00"
        elif rule == "enum:event_type":
            frame.at[row, "event_type"] = str(rng.choice(BAD_EVENT_TYPES))
            for column in ("rating", "amount"):
                if column in frame:
                    frame.at[row, column] = ""
        elif rule == "range:rating":
            frame.at[row, "event_type"], frame.at[row, "rating"], frame.at[row, "amount"] = "rate", "9", ""
        elif rule == "future:occurred_at":
            later = run_date + timedelta(days=int(rng.integers(2, 30)))
            frame.at[row, "occurred_at"] = f"{later.isoformat()}T{int(rng.integers(0, 24)):02d}:15:00{ts_suffix}"
        elif rule == "type:occurred_at":
            frame.at[row, "occurred_at"] = str(rng.choice(BAD_TIMESTAMPS))
        else:
            raise ValueError(f"unknown planted rule {rule!r}")
        key = f"violation:{i}"
        frame.at[row, PLANT_COLUMN] = key
        # original_id: the id the record lost ('required' only), so truth checks can skip it
        records.append(
            {"key": key, "record_id": record_id, "rule": rule}
            | ({"original_id": original_id} if record_id is None else {})
        )
    return frame, records


def plant_duplicates(
    frame: pd.DataFrame, id_column: str, n: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[dict]]:
    """Insert an exact copy of ``n`` clean rows somewhere after the original."""
    free = _free_rows(frame)
    n = min(n, len(free))
    if n == 0:
        return frame, []
    source_rows = np.sort(rng.choice(free, size=n, replace=False))
    frame = frame.copy()
    keys = np.array([f"duplicate:{i}" for i in range(n)], dtype=object)
    frame.loc[frame.index[source_rows], PLANT_COLUMN] = keys
    positions = np.concatenate(
        [np.arange(len(frame), dtype=float), rng.integers(source_rows + 1, len(frame) + 1) - 0.5]
    )
    order = np.argsort(positions, kind="stable")
    rows = np.concatenate([np.arange(len(frame)), source_rows])[order]
    out = frame.iloc[rows].reset_index(drop=True)
    records = [{"key": k, "record_id": frame.at[r, id_column]} for k, r in zip(keys, source_rows)]
    return out, records


def take_resend(frame: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Pick ``n`` clean rows to be re-sent, unchanged, in the next drop."""
    free = _free_rows(frame)
    rows = np.sort(rng.choice(free, size=min(n, len(free)), replace=False))
    return frame.iloc[rows].reset_index(drop=True)


def insert_resent(
    frame: pd.DataFrame, resent: pd.DataFrame, id_column: str, first_date: date, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[dict]]:
    """Scatter rows already delivered on ``first_date`` into this drop."""
    if resent.empty:
        return frame, []
    resent = resent.copy()
    keys = [f"resent:{i}" for i in range(len(resent))]
    resent[PLANT_COLUMN] = keys
    positions = np.concatenate([np.arange(len(frame), dtype=float), rng.integers(0, len(frame) + 1, len(resent)) - 0.5])
    combined = pd.concat([frame, resent], ignore_index=True)
    out = combined.iloc[np.argsort(positions, kind="stable")].reset_index(drop=True)
    records = [
        {"key": k, "record_id": r, "first_date": first_date.isoformat()} for k, r in zip(keys, resent[id_column])
    ]
    return out, records


def malformed_line(frame: pd.DataFrame, id_column: str, rng: np.random.Generator) -> tuple[int, str, str] | None:
    """(position, raw text, record id) of a row with one field too many, built from a clean row;
    None when the file has no clean row to copy."""
    free = _free_rows(frame)
    if len(free) == 0:
        return None
    row = int(rng.choice(free))
    record = frame.drop(columns=PLANT_COLUMN).iloc[row].copy()
    record_id = f"{record[id_column]}-x"
    record[id_column] = record_id
    # events carry no commas or quotes, so a plain join is the CSV line (plus one extra field)
    text = ",".join([*map(str, record.tolist()), "unexpected trailing field"])
    return row, text, record_id
