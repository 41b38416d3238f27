"""Render entity state as contract-shaped frames of strings (value-level dirt applied here)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xrec_tools.sample.catalogue import Catalogue
from xrec_tools.sample.dirt import DIRT, blank_some, category_variants, city_variants
from xrec_tools.sample.identity import raw_emails, raw_phones
from xrec_tools.sample.population import Customers, PlatformUsers
from xrec_tools.sample.taxonomy import Taxonomy

USER_COLUMNS = ["user_id", "email", "phone", "city", "birth_year", "gender", "signup_at", "interests", "updated_at"]
COURSE_COLUMNS = [
    "course_id",
    "title",
    "category",
    "tags",
    "price",
    "instructor",
    "published_at",
    "is_active",
    "updated_at",
]
EVENT_COLUMNS = ["event_id", "user_id", "course_id", "event_type", "rating", "amount", "occurred_at"]
CUSTOMER_COLUMNS = ["customer_id", "email_sha256", "phone_sha256", "city", "birth_year", "updated_at"]
ITEM_COLUMNS = ["item_id", "title", "category", "price", "city", "is_active", "updated_at"]
VERTICAL_COLUMNS = {
    "realty": ["district", "area_sqm", "bedrooms", "listing_type"],
    "finance": ["product_type", "risk_level", "expected_return_pct", "min_investment"],
    "home": ["style", "room"],
    "automod": ["brand", "car_model", "part_type"],
}
INTERACTION_COLUMNS = ["interaction_id", "customer_id", "item_id", "event_type", "amount", "occurred_at"]
OUTCOME_COLUMNS = ["customer_id", "item_id", "recommended_on", "event_type", "occurred_at"]
INTEREST_TAG_PROB = (0.9, 0.7, 0.2)  # primary-topic tag, second-topic tag, a random tag


def fmt_ts(ts: np.ndarray, suffix: str = "") -> np.ndarray:
    """ISO 8601 local time, seconds precision, optional '+08:00'."""
    out = np.datetime_as_string(ts.astype("datetime64[s]"), unit="s").astype(object)
    return out + suffix if suffix else out


def fmt_money(cents: np.ndarray) -> np.ndarray:
    """Non-negative integer cents as 'yuan.fen'."""
    cents = np.asarray(cents, dtype=np.int64)
    return (pd.Series(cents // 100).astype(str) + "." + pd.Series(cents % 100).astype(str).str.zfill(2)).to_numpy(
        dtype=object
    )


def _bools(values: np.ndarray) -> np.ndarray:
    return np.where(values, "true", "false").astype(object)


def _interests(topics: np.ndarray, tax: Taxonomy, rng: np.random.Generator) -> np.ndarray:
    """'|'-separated platform category tags mostly drawn from the person's latent topics."""
    by_topic = tax.categories_by_topic("platform")
    names = np.array(tax.categories["platform"], dtype=object)
    n = len(topics)
    tags = []
    for slot, prob in enumerate(INTEREST_TAG_PROB):
        if slot < 2:
            topic = topics[:, slot]
            pick = np.zeros(n, dtype=np.int64)
            for t, cats in enumerate(by_topic):
                rows = np.flatnonzero(topic == t)
                pick[rows] = rng.choice(cats, size=len(rows)) if len(cats) else 0
            tag = np.where((topic >= 0) & (rng.random(n) < prob), names[pick], "")
        else:
            tag = np.where(rng.random(n) < prob, names[rng.integers(0, len(names), n)], "")
        tags.append(pd.Series(tag, dtype=object))
    joined = tags[0] + "|" + tags[1] + "|" + tags[2]
    return joined.str.replace(r"\|+", "|", regex=True).str.strip("|").to_numpy(dtype=object)


def _city_and_birth(people, idx: np.ndarray, tax: Taxonomy, rng: np.random.Generator):
    city, missing_city = blank_some(
        city_variants(people.city[idx], tax, DIRT.city_variant, rng), DIRT.missing_city, rng
    )
    birth, missing_birth = blank_some(people.birth_year[idx].astype(str), DIRT.missing_birth_year, rng)
    return city, birth, {"missing_city": missing_city, "missing_birth_year": missing_birth}


def render_users(
    users: PlatformUsers, idx: np.ndarray, updated_at: np.ndarray, tax: Taxonomy, rng: np.random.Generator
) -> tuple[pd.DataFrame, dict]:
    """platform/users rows for ``idx`` (raw email/phone in mixed spellings)."""
    people = users.people
    city, birth, counts = _city_and_birth(people, idx, tax, rng)
    frame = pd.DataFrame(
        {
            "user_id": users.user_id[idx],
            "email": raw_emails(users.email[idx], rng),
            "phone": raw_phones(users.phone[idx], rng),
            "city": city,
            "birth_year": birth,
            "gender": people.gender[idx].astype(object),
            "signup_at": fmt_ts(people.first_at[idx]),
            "interests": _interests(people.topics[idx], tax, rng),
            "updated_at": fmt_ts(updated_at),
        },
        columns=USER_COLUMNS,
        dtype=object,
    )
    return frame, counts


def render_customers(
    customers: Customers,
    idx: np.ndarray,
    updated_at: np.ndarray,
    tax: Taxonomy,
    rng: np.random.Generator,
    ts_suffix: str,
) -> tuple[pd.DataFrame, dict]:
    """<partner>/customers rows for ``idx`` (hashes only, never raw PII)."""
    city, birth, counts = _city_and_birth(customers.people, idx, tax, rng)
    frame = pd.DataFrame(
        {
            "customer_id": customers.customer_id[idx],
            "email_sha256": customers.email_sha256[idx],
            "phone_sha256": customers.phone_sha256[idx],
            "city": city,
            "birth_year": birth,
            "updated_at": fmt_ts(updated_at, ts_suffix),
        },
        columns=CUSTOMER_COLUMNS,
        dtype=object,
    )
    return frame, counts


def render_catalogue(
    cat: Catalogue, idx: np.ndarray, updated_at: np.ndarray, tax: Taxonomy, rng: np.random.Generator, ts_suffix: str
) -> tuple[pd.DataFrame, dict]:
    """platform/courses or <partner>/items rows for ``idx``."""
    names = np.array(tax.categories[cat.source], dtype=object)[cat.category[idx]]
    category, n_variants = category_variants(names, DIRT.category_variant, rng)
    common = {
        "title": cat.title[idx],
        "category": category,
        "price": fmt_money(cat.price_cents[idx]),
        "is_active": _bools(cat.is_active[idx]),
        "updated_at": fmt_ts(updated_at, ts_suffix),
    }
    attrs = {k: v[idx] for k, v in cat.attributes.items()}
    if cat.source == "platform":
        columns = COURSE_COLUMNS
        frame = pd.DataFrame(
            {"course_id": cat.item_id[idx], **common, **attrs, "published_at": fmt_ts(cat.first_at[idx])}, dtype=object
        )
    else:
        columns = ITEM_COLUMNS + VERTICAL_COLUMNS[cat.source]
        city = city_variants(cat.city[idx], tax, DIRT.city_variant, rng)
        frame = pd.DataFrame({"item_id": cat.item_id[idx], **common, "city": city, **attrs}, dtype=object)
    return frame[columns], {"category_variants": n_variants}
