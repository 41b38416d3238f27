"""Play partners' marketing feedback on delivered recommendations (contract: <partner>/outcomes).

A partner shows the platform courses xrec recommended for its customers; a customer clicks and
converts clearly more often when the course's topic is one of their planted topics, and less
often further down the list. Deterministic for a seed.
"""

from __future__ import annotations

import json
import logging
import zlib
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from xrec.catalog import PARTNER_TO_PLATFORM
from xrec.config import PLATFORM
from xrec_tools.sample.csvfile import FileFormat, write_csv
from xrec_tools.sample.frames import OUTCOME_COLUMNS, fmt_ts
from xrec_tools.sample.generator import BOM_SOURCES

log = logging.getLogger(__name__)

IMPRESSION_PROB = 0.95
CLICK_PROB = {True: 0.30, False: 0.05}  # by "item topic is a planted topic"
CONVERSION_GIVEN_CLICK = {True: 0.35, False: 0.08}
RANK_DECAY = 0.15  # probability / (1 + decay * (rank - 1))


def _truth(manifest: Path) -> tuple[pd.DataFrame, pd.Series]:
    """(planted topics per (source, recipient_id), topic per platform course)."""
    truth = json.loads(manifest.read_text(encoding="utf-8"))["truth"]
    folder = manifest.parent / truth["folder"]
    topics = pd.read_parquet(
        folder / truth["tables"]["planted_topics"], columns=["source", "recipient_id", "topic_1", "topic_2"]
    )
    items = pd.read_parquet(folder / truth["tables"]["items"], columns=["source", "item_id", "topic"])
    courses = items[items["source"] == PLATFORM].set_index("item_id")["topic"]
    return topics, courses


def _play(recs: pd.DataFrame, matched: np.ndarray, day: date, rng: np.random.Generator) -> pd.DataFrame:
    """Impression, click and conversion rows for one partner's delivered recommendations."""
    decay = 1.0 + RANK_DECAY * (recs["rank"].to_numpy(dtype=float) - 1.0)
    click_p = np.where(matched, CLICK_PROB[True], CLICK_PROB[False]) / decay
    convert_p = np.where(matched, CONVERSION_GIVEN_CLICK[True], CONVERSION_GIVEN_CLICK[False])
    n = len(recs)
    shown = rng.random(n) < IMPRESSION_PROB
    clicked = shown & (rng.random(n) < click_p)
    converted = clicked & (rng.random(n) < convert_p)
    day_start = np.datetime64(day.isoformat(), "s")
    seen = rng.integers(8 * 3600, 21 * 3600, n)
    click_at = np.minimum(seen + rng.integers(5, 1800, n), 86_399)
    convert_at = np.minimum(click_at + rng.integers(60, 7200, n), 86_399)
    parts = []
    for event_type, mask, seconds in (
        ("impression", shown, seen),
        ("click", clicked, click_at),
        ("conversion", converted, convert_at),
    ):
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": recs["recipient_id"].to_numpy(dtype=object)[mask],
                    "item_id": recs["item_id"].to_numpy(dtype=object)[mask],
                    "event_type": event_type,
                    "seconds": seconds[mask],
                }
            )
        )
    events = pd.concat(parts, ignore_index=True).sort_values(["seconds", "customer_id", "item_id"], kind="stable")
    events["occurred_at"] = fmt_ts(day_start + events["seconds"].to_numpy().astype("timedelta64[s]"))
    events["recommended_on"] = (day - timedelta(days=1)).isoformat()
    return events[OUTCOME_COLUMNS].astype(object).reset_index(drop=True)


def write_outcomes(
    landing: Path, manifest: Path, recommendations: pd.DataFrame, delivered_on: date, seed: int
) -> list[Path]:
    """Write ``<landing>/<partner>/<delivered_on + 1>/outcomes.csv`` for every partner that got
    partner_to_platform recommendations, re-marking the drop complete (``_SUCCESS`` last)."""
    topics, course_topic = _truth(manifest)
    day = delivered_on + timedelta(days=1)
    recs = recommendations[recommendations["direction"] == PARTNER_TO_PLATFORM]
    written = []
    for partner, rows in recs.groupby("partner", sort=True):
        rows = rows.sort_values(["recipient_id", "rank", "item_id"], kind="stable")
        planted = (
            rows[["recipient_id"]]
            .astype(object)
            .merge(topics[topics["source"] == partner], on="recipient_id", how="left")
        )
        item_topic = rows["item_id"].astype(object).map(course_topic).to_numpy(dtype=object)
        matched = (item_topic == planted["topic_1"].to_numpy(dtype=object)) | (
            item_topic == planted["topic_2"].to_numpy(dtype=object)
        )
        rng = np.random.default_rng([seed, zlib.crc32(str(partner).encode()), delivered_on.toordinal()])
        outcomes = _play(rows, matched & pd.notna(item_topic), day, rng)
        drop = Path(landing) / str(partner) / day.isoformat()
        drop.mkdir(parents=True, exist_ok=True)
        (drop / "_SUCCESS").unlink(missing_ok=True)  # the drop is incomplete while we add a file
        path = drop / "outcomes.csv"
        write_csv(path, outcomes, FileFormat(bom=partner in BOM_SOURCES))
        (drop / "_SUCCESS").write_bytes(b"")
        written.append(path)
        log.info("wrote %d outcome events for %d %s recommendations to %s", len(outcomes), len(rows), partner, path)
    return written
