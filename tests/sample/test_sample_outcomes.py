"""Partner feedback on delivered recommendations rewards on-topic, top-ranked items."""

from __future__ import annotations

import shutil
from datetime import date

import numpy as np
import pandas as pd

from xrec_tools.sample.outcomes import write_outcomes

DELIVERED = date(2026, 11, 3)


def recommendations(sample) -> pd.DataFrame:
    """Ten courses per partner customer: even ranks on one of their topics, odd ranks off-topic."""
    topics = pd.read_parquet(sample.truth("planted_topics"))
    items = pd.read_parquet(sample.truth("items")).query("source == 'platform'")
    rng = np.random.default_rng(0)
    rows = []
    for person in topics[topics["source"] != "platform"].itertuples():
        on = items.loc[items["topic"] == person.topic_1, "item_id"].to_numpy()
        off = items.loc[~items["topic"].isin([person.topic_1, person.topic_2]), "item_id"].to_numpy()
        picks = np.where(np.arange(10) % 2 == 1, rng.choice(on, 10), rng.choice(off, 10))
        rows += [
            ("partner_to_platform", person.source, person.recipient_id, item, rank, "model")
            for rank, item in enumerate(picks, start=1)
        ]
    rows.append(("platform_to_partner", "realty", "U00000001", "RL000001", 1, "model"))
    return pd.DataFrame(rows, columns=["direction", "partner", "recipient_id", "item_id", "rank", "variant"])


def test_outcomes_favour_planted_topics_and_top_ranks(sample, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(sample.out, landing)
    recs = recommendations(sample)
    paths = write_outcomes(landing, sample.manifest_path, recs, DELIVERED, seed=1)
    assert sorted(p.parent.parent.name for p in paths) == ["automod", "finance", "home", "realty"]
    frames = []
    for path in paths:
        drop = path.parent
        assert drop.name == "2026-11-04" and (drop / "_SUCCESS").exists()
        assert (drop / "_SUCCESS").stat().st_mtime_ns >= path.stat().st_mtime_ns
        assert (drop / "interactions.csv").exists() or (drop / "interactions.csv.gz").exists()
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        assert list(frame.columns) == ["customer_id", "item_id", "recommended_on", "event_type", "occurred_at"]
        frames.append(frame.assign(partner=drop.parent.name))
    outcomes = pd.concat(frames)
    assert set(outcomes["recommended_on"]) == {"2026-11-03"}
    assert outcomes["occurred_at"].str.startswith("2026-11-04T").all()
    assert set(outcomes["event_type"]) == {"impression", "click", "conversion"}
    clicks = outcomes[outcomes["event_type"] == "click"].merge(
        recs, left_on=["partner", "customer_id", "item_id"], right_on=["partner", "recipient_id", "item_id"]
    )
    on_topic = clicks["rank"] % 2 == 0
    n_per_parity = len(recs[recs["direction"] == "partner_to_platform"]) / 2
    assert on_topic.sum() / n_per_parity > 3 * (~on_topic).sum() / n_per_parity
    by_rank = clicks[on_topic]["rank"].value_counts()
    assert by_rank[2] > by_rank[10]


def test_outcomes_are_deterministic(sample, tmp_path):
    recs = recommendations(sample).query("partner == 'home'")
    written = []
    for name in ("a", "b"):
        paths = write_outcomes(tmp_path / name, sample.manifest_path, recs, DELIVERED, seed=9)
        written.append([p.read_bytes() for p in paths])
    assert written[0] == written[1] and written[0][0].startswith(b"\xef\xbb\xbf")
