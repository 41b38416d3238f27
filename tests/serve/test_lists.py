"""The lookup payloads built from a bundle's published lists: exact JSON, escaping, k, fallback."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from xrec.serve.lists import PublishedLists

P2P = "platform_to_partner"
TITLES = ['say "hi"', "back\\slash", "line\nbreak", "普通", "a | b"]


def _bundle_lists(tmp_path) -> tuple[PublishedLists, pd.DataFrame]:
    items = pd.Index([f"realty:r{n}" for n in range(len(TITLES))], dtype=object)
    reasons = [f"因为你关注过《{TITLES[n]}》 | because of 《{TITLES[n]}》 in your history" for n in range(len(TITLES))]
    frame = pd.DataFrame(
        {
            "direction": P2P,
            "partner": "realty",
            "recipient_id": ["u1", "u1", "u1", "u2", "u2", "u3", "u4"],
            "item_id": ["r0", "r1", "r2", "r3", "r0", "r4", "r1"],
            "rank": [1, 2, 3, 1, 2, 1, 1],
            "score": [0.5, 0.25, -1e-7, 3.0, 2.5, 1.0, 0.1],
            "variant": ["model", "model", "model", "control", "control", "model", "model"],
            "reason": [
                reasons[0],
                reasons[1],
                reasons[2],
                "大家都在看 | popular with everyone",
                "大家都在看 | popular with everyone",
                reasons[4],
                "甲 | 乙 | 丙",
            ],
            "reason_items": [
                '[{"kind":"item","title":' + json.dumps(TITLES[n], ensure_ascii=False) + "}]" for n in (0, 1, 2)
            ]
            + ['[{"kind":"popular"}]'] * 2
            + ["[]"] * 2,
        }
    )
    path = tmp_path / "recommendations.parquet"
    frame.to_parquet(path)
    return PublishedLists.read(path, items, np.array(TITLES, object)), frame


def test_a_lookup_payload_is_the_published_rows_as_json(tmp_path):
    lists, frame = _bundle_lists(tmp_path)
    for recipient, k in (("u1", 10), ("u1", 2), ("u1", 1), ("u2", 10)):
        rows = json.loads(lists.recommendations_json(P2P, "realty", recipient, k))
        daily = frame[frame["recipient_id"] == recipient].head(k)
        assert [r["rank"] for r in rows] == list(range(1, len(daily) + 1))
        assert [r["item_id"] for r in rows] == list(daily["item_id"])
        assert [r["title"] for r in rows] == [TITLES[int(i[1:])] for i in daily["item_id"]]
        assert [r["score"] for r in rows] == list(daily["score"])
        assert [r["variant"] for r in rows] == list(daily["variant"])
        assert {r["source"] for r in rows} == {"realty"}
        assert [f"{r['reason']['zh']} | {r['reason']['en']}" for r in rows] == list(daily["reason"])
        assert [r["reason"]["items"] for r in rows] == [json.loads(x) for x in daily["reason_items"]]
    assert lists.recommendations_json(P2P, "realty", "nobody", 10) is None


def test_a_reason_naming_a_title_that_holds_the_separator_splits_at_its_middle_one(tmp_path):
    lists, frame = _bundle_lists(tmp_path)
    # u3's title holds the separator once in each language: the reason splits at the middle one.
    (row,) = json.loads(lists.recommendations_json(P2P, "realty", "u3", 10))
    assert row["reason"] == {"zh": "因为你关注过《a | b》", "en": "because of 《a | b》 in your history", "items": []}
    assert f"{row['reason']['zh']} | {row['reason']['en']}" == frame.loc[5, "reason"]


def test_a_reason_that_does_not_split_into_two_languages_is_left_to_render(tmp_path):
    lists, _ = _bundle_lists(tmp_path)
    # u4's reason holds the separator twice: no middle one, so no payload; the server renders it.
    assert lists.recommendations_json(P2P, "realty", "u4", 10) is None
    assert lists.lookup(P2P, "realty", "u4", 10).item_rows.tolist() == [1]


def test_lists_in_the_scores_order_load_and_a_split_list_is_refused(tmp_path):
    _, frame = _bundle_lists(tmp_path)
    items = pd.Index([f"realty:r{n}" for n in range(len(TITLES))], dtype=object)
    titles = np.array(TITLES, object)
    # The score writes model lists, then control lists: keys grouped but not sorted.
    grouped = frame.iloc[[5, 0, 1, 2, 6, 3, 4]]
    grouped.to_parquet(tmp_path / "grouped.parquet")
    lists = PublishedLists.read(tmp_path / "grouped.parquet", items, titles)
    assert [r["item_id"] for r in json.loads(lists.recommendations_json(P2P, "realty", "u1", 10))] == ["r0", "r1", "r2"]
    assert [r["item_id"] for r in json.loads(lists.recommendations_json(P2P, "realty", "u2", 10))] == ["r3", "r0"]

    split = frame.iloc[[0, 1, 5, 2, 3, 4, 6]]  # u1's third row after u3's list
    split.to_parquet(tmp_path / "split.parquet")
    with pytest.raises(ValueError, match="split.parquet: the published lists are not grouped by key in rank order"):
        PublishedLists.read(tmp_path / "split.parquet", items, titles)
