"""The sample carries consent (share_with), withdrawals and erasure requests (CONTRACT.md v2)."""

from __future__ import annotations

import pandas as pd

PARTNERS = {"realty", "finance", "home", "automod"}


def _users(sample) -> pd.DataFrame:
    frames = []
    for entry in sample.files("users"):
        header, rows = sample.records(entry["file"])
        frame = pd.DataFrame([f for _, f in rows if len(f) == len(header)], columns=header)
        frames.append(frame.assign(_date=entry["date"], _line=[line for line, f in rows if len(f) == len(header)]))
    return pd.concat(frames, ignore_index=True)


def test_about_a_fifth_consent_and_some_withdraw(sample):
    users = _users(sample)
    values = set(users["share_with"]) - {""}
    assert "*" in values
    assert all(set(v.split("|")) <= PARTNERS for v in values - {"*"})
    first = users.sort_values(["_date", "_line"]).drop_duplicates("user_id", keep="first")
    share = (first["share_with"] != "").mean()
    assert 0.12 < share < 0.28, share
    latest = users.sort_values(["updated_at", "_date", "_line"]).drop_duplicates("user_id", keep="last")
    withdrawn = set(first.loc[first["share_with"] != "", "user_id"]) & set(
        latest.loc[latest["share_with"] == "", "user_id"]
    )
    assert withdrawn, "nobody withdrew consent"


def test_a_few_linked_users_ask_to_be_erased(sample):
    deletions = sample.files("deletions")
    assert deletions
    requested = []
    for entry in deletions:
        header, rows = sample.records(entry["file"])
        assert header == ["user_id", "requested_at"]
        requested += [fields[0] for _, fields in rows]
    assert 1 <= len(requested) <= 5
    links = pd.read_parquet(sample.truth("identity_links"))
    assert set(requested) <= set(links["user_id"])  # each one has partner customer rows to erase too
