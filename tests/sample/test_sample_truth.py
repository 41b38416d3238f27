"""The planted structure is there and learnable: identity overlap, topics, city and risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xrec_tools.sample.identity import normalise_email, normalise_phone, sha256_hex


def frame(sample, entity: str, source: str | None = None) -> pd.DataFrame:
    """All well-formed rows of an entity across drops, with the drop's source and date."""
    parts = []
    for entry in sample.files(entity):
        if source not in (None, entry["source"]):
            continue
        header, rows = sample.records(entry["file"])
        good = [f for _, f in rows if len(f) == len(header) and f[0]]
        parts.append(pd.DataFrame(good, columns=header).assign(source=entry["source"], date=entry["date"]))
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("raw", ["13800138000", "138 0013 8000", "+86 138-0013-8000", "+8613800138000"])
def test_phone_formats_normalise_to_e164(raw):
    assert normalise_phone(pd.Series([raw])).iloc[0] == "+8613800138000"


def test_email_normalisation_trims_and_lowercases():
    assert normalise_email(pd.Series(["  Li.Wei@Example.com "])).iloc[0] == "li.wei@example.com"


def test_hash_overlap_is_about_30_percent_and_matches_the_true_links(sample):
    users = frame(sample, "users").drop_duplicates("user_id")
    email = dict(zip(sha256_hex(normalise_email(users["email"])), users["user_id"]))
    phone = dict(zip(sha256_hex(normalise_phone(users["phone"])), users["user_id"]))
    customers = frame(sample, "customers").query("source != 'platform'").drop_duplicates(["source", "customer_id"])
    assert not customers.filter(like="sha256").apply(lambda c: c.str.contains("@")).any().any()
    matched = customers["email_sha256"].map(email).fillna(customers["phone_sha256"].map(phone))
    found = set(
        zip(matched.dropna(), customers.loc[matched.notna(), "source"], customers.loc[matched.notna(), "customer_id"])
    )
    links = pd.read_parquet(sample.truth("identity_links"))
    truth = set(zip(links["user_id"], links["partner"], links["customer_id"]))
    # a link is unobservable only when the customer's or user's sole row lost its id
    lost = {v["original_id"] for v in sample.manifest["planted"]["violations"] if "original_id" in v}
    assert found <= truth
    assert all(user in lost or customer in lost for user, _, customer in truth - found)
    share = links["user_id"].nunique() / users["user_id"].nunique()
    assert 0.27 <= share <= 0.33
    assert sample.manifest["truth"]["linked_share"] == pytest.approx(share, abs=0.001)
    for partner, overlap in sample.manifest["truth"]["overlap"].items():
        assert overlap["linked_customers"] == (links["partner"] == partner).sum()
        assert overlap["linked_customers"] < overlap["customers"]  # partner-only customers exist
    assert (~links["has_email_sha256"] | ~links["has_phone_sha256"]).any()


def engagement(sample, entity: str, person_col: str, item_col: str) -> pd.DataFrame:
    """Events joined to the planted truth of their person and item."""
    events = frame(sample, entity).rename(columns={person_col: "recipient_id", item_col: "item_id"})
    topics = pd.read_parquet(sample.truth("planted_topics"))
    items = pd.read_parquet(sample.truth("items"))
    return events.merge(topics, on=["source", "recipient_id"]).merge(
        items, on=["source", "item_id"], suffixes=("", "_item")
    )


def on_topic(joined: pd.DataFrame) -> pd.Series:
    return (joined["topic"] == joined["topic_1"]) | (joined["topic"] == joined["topic_2"])


def test_people_mostly_engage_with_their_planted_topics(sample):
    events = engagement(sample, "events", "user_id", "course_id")
    assert 0.75 <= on_topic(events).mean() <= 0.9
    joined = engagement(sample, "interactions", "customer_id", "item_id")
    assert on_topic(joined).mean() > 0.75
    realty = joined[joined["source"] == "realty"]
    assert (realty["city"] == realty["city_item"]).mean() > 0.7
    finance = joined[joined["source"] == "finance"]
    assert np.corrcoef(finance["risk_tolerance"], finance["risk_level"])[0, 1] > 0.3
    people = pd.read_parquet(sample.truth("planted_topics")).query("source == 'platform'")
    assert np.corrcoef(people["birth_year"], people["risk_tolerance"])[0, 1] > 0.5


def test_platform_behaviour_predicts_partner_behaviour(sample):
    """Linked people's dominant platform topic is the topic of their partner interactions."""
    links = pd.read_parquet(sample.truth("identity_links"))
    events = engagement(sample, "events", "user_id", "course_id")
    platform_topic = events.groupby("recipient_id")["topic"].agg(lambda t: set(t.value_counts().index[:2]))
    joined = engagement(sample, "interactions", "customer_id", "item_id").merge(
        links, left_on=["source", "recipient_id"], right_on=["partner", "customer_id"]
    )
    hit = [topic in platform_topic.get(user, set()) for user, topic in zip(joined["user_id"], joined["topic"])]
    assert np.mean(hit) > 0.7


def test_event_mix_and_popularity_are_long_tailed(sample):
    events = frame(sample, "events")
    counts = events["event_type"].value_counts()
    assert counts["view"] > 3 * counts["purchase"] > 0
    assert counts["purchase"] > counts["complete"] > counts["rate"] > 0
    assert (events.loc[events["event_type"] != "rate", "rating"] == "").all()
    assert (events.loc[events["event_type"] != "purchase", "amount"] == "").all()
    per_course = events["course_id"].value_counts()
    assert per_course.iloc[: len(per_course) // 10].sum() > 0.3 * per_course.sum()
    interactions = frame(sample, "interactions")["event_type"].value_counts()
    assert interactions["view"] > 3 * interactions["favorite"]
    assert interactions["favorite"] > interactions["inquiry"] > interactions["purchase"]


def test_style_and_brand_tastes_show_on_both_sides(sample):
    """Home style and car brand drive partner picks, and the same taste shows in which tagged
    interior-design / car-culture courses a person takes on the platform."""
    joined = engagement(sample, "interactions", "customer_id", "item_id")
    home, automod = joined[joined["source"] == "home"], joined[joined["source"] == "automod"]
    assert (home["style"] == home["facet"]).mean() > 0.6
    assert (automod["brand"] == automod["facet"]).mean() > 0.6
    events = engagement(sample, "events", "user_id", "course_id")
    styled = events[events["topic"] == "interior_design"]
    assert (styled["style"] == styled["facet"]).mean() > 0.6
    courses = frame(sample, "courses").merge(
        pd.read_parquet(sample.truth("items")), left_on="course_id", right_on="item_id"
    )
    tagged = courses[courses["facet"] != ""]
    assert len(tagged) and all(f in t.split("|") for f, t in zip(tagged["facet"], tagged["tags"]))


def test_investment_courses_reveal_risk_tolerance(sample):
    """Investment courses carry a risk grade tag (R1..R5), and the grade of those a person takes
    mostly equals their risk tolerance, the level finance products are picked by."""
    events = engagement(sample, "events", "user_id", "course_id")
    graded = events[events["facet"].str.fullmatch(r"R[1-5]")]
    assert set(graded["topic"]) == {"personal_finance", "real_estate_investing"}
    assert (graded["facet"] == "R" + graded["risk_tolerance"].astype(str)).mean() > 0.6
