"""The people behind the sample: platform users, partner customers and their latent traits.

Every person has 1-2 latent topics, a home city, a birth year, a risk tolerance that falls
with age (also the risk grade of the investment courses they pick), a home style and a car
brand (the catalogue's facets). About 30% of platform users
are also customers of partners whose topics they share; partners also have customers who never
use the platform. This is the entity state the daily generator keeps (never the event history).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import numpy as np

from xrec_tools.sample.catalogue import FACET_VALUES, RISK_FACET
from xrec_tools.sample.identity import canonical_emails, canonical_phones, sha256_hex
from xrec_tools.sample.taxonomy import Taxonomy

log = logging.getLogger(__name__)

# Topic popularity among people; topics missing here get weight 0.1.
TOPIC_WEIGHTS = {
    "real_estate_investing": 0.16,
    "personal_finance": 0.15,
    "interior_design": 0.13,
    "car_culture": 0.12,
    "career_growth": 0.13,
    "parenting": 0.10,
    "health_fitness": 0.11,
    "tech_skills": 0.10,
}
CITY_TIER_WEIGHTS = {1: 3.0, 2: 1.5, 3: 0.8}
SECOND_TOPIC_PROB = 0.5
LINKED_SHARE = 0.30  # platform users who are also customers of >= 1 partner
EXTRA_PARTNER_PROB = 0.3  # a linked person's chance to use each further eligible partner
CUSTOMERS_PER_USER = 0.15  # target partner customers per platform user, per partner
MIN_UNLINKED_PER_USER = 0.04  # every partner has customers who are not platform users
LATE_SHARE = 0.12  # rows that first appear after day 0 (new signups)
# Which hashes a partner holds: both / email only / phone only.
LINKED_HASH_MIX = (0.7, 0.15, 0.15)
UNLINKED_HASH_MIX = (0.9, 0.05, 0.05)


@dataclass
class People:
    """Latent traits, one row per person (aligned arrays)."""

    topics: np.ndarray  # (n, 2) topic indices, -1 when there is no second topic
    city: np.ndarray  # canonical city index
    birth_year: np.ndarray
    gender: np.ndarray
    risk_tolerance: np.ndarray  # 1..5, falls with age
    facets: np.ndarray  # (n, len(FACET_VALUES)) preferred value index per facet
    activity: np.ndarray  # relative event rate (long-tailed)
    first_day: np.ndarray  # day index of the first drop carrying the row
    first_at: np.ndarray  # datetime64[s]: signup / customer-since


@dataclass
class PlatformUsers:
    user_id: np.ndarray
    people: People
    email: np.ndarray  # canonical (normalised) email
    phone: np.ndarray  # 11 digits
    email_sha256: np.ndarray
    phone_sha256: np.ndarray


@dataclass
class Customers:
    partner: str
    customer_id: np.ndarray
    people: People
    platform_index: np.ndarray  # index into PlatformUsers, -1 for non-platform customers
    partner_topics: np.ndarray  # (n, 2) the person's topics this partner serves, -1 padded
    email_sha256: np.ndarray  # '' when the partner does not hold it
    phone_sha256: np.ndarray


def _topic_weights(tax: Taxonomy) -> np.ndarray:
    weights = np.array([TOPIC_WEIGHTS.get(t, 0.1) for t in tax.topics])
    return weights / weights.sum()


def _first_days(n: int, days: int, rng: np.random.Generator) -> np.ndarray:
    late = rng.random(n) < (LATE_SHARE if days > 1 else 0.0)
    first_day = np.where(late, rng.integers(1, max(days, 2), n), 0)
    return np.sort(first_day)


def _first_at(first_day: np.ndarray, start: date, rng: np.random.Generator) -> np.ndarray:
    """Historic timestamps for day-0 rows, a moment inside the drop's day for later ones."""
    day0 = np.datetime64(start.isoformat(), "s")
    history = -rng.integers(86_400, 900 * 86_400, len(first_day))
    within = first_day * 86_400 + rng.integers(0, 86_400, len(first_day))
    return day0 + np.where(first_day == 0, history, within).astype("timedelta64[s]")


def _people(
    n: int, start: date, days: int, primary_pool: np.ndarray, tax: Taxonomy, rng: np.random.Generator
) -> People:
    weights = _topic_weights(tax)
    primary = rng.choice(primary_pool, size=n, p=weights[primary_pool] / weights[primary_pool].sum())
    # a distinct second topic for about half of them
    second = rng.choice(len(tax.topics), size=n, p=weights)
    second = np.where((rng.random(n) < SECOND_TOPIC_PROB) & (second != primary), second, -1)
    city_w = np.array([CITY_TIER_WEIGHTS[t] for t in tax.city_tiers])
    age = np.clip(np.rint(rng.normal(35, 9, n)), 20, 65).astype(np.int64)
    risk = np.clip(np.rint(4.6 - (age - 22) / 10 + rng.normal(0, 0.6, n)), 1, 5).astype(np.int64)
    first_day = _first_days(n, days, rng)
    facets = np.stack(
        [risk - 1 if j == RISK_FACET else rng.integers(0, len(values), n) for j, values in enumerate(FACET_VALUES)],
        axis=1,
    )
    return People(
        topics=np.stack([primary, second], axis=1),
        city=rng.choice(len(tax.cities), size=n, p=city_w / city_w.sum()),
        birth_year=start.year - age,
        gender=rng.choice(np.array(["M", "F", "U"]), size=n, p=[0.48, 0.48, 0.04]),
        risk_tolerance=risk,
        facets=facets,
        activity=rng.lognormal(0.0, 0.8, n),
        first_day=first_day,
        first_at=_first_at(first_day, start, rng),
    )


def build_platform_users(n: int, start: date, days: int, tax: Taxonomy, rng: np.random.Generator) -> PlatformUsers:
    """``n`` platform users; most exist on day 0, the rest sign up on later days."""
    people = _people(n, start, days, np.arange(len(tax.topics)), tax, rng)
    index = np.arange(n)
    email, phone = canonical_emails(index, rng), canonical_phones(index, rng)
    log.info("built %d platform users (%d sign up after day 0)", n, int((people.first_day > 0).sum()))
    return PlatformUsers(
        user_id=np.char.add("U", np.char.zfill((index + 1).astype(str), 8)).astype(object),
        people=people,
        email=email,
        phone=phone,
        email_sha256=sha256_hex(email),
        phone_sha256=sha256_hex("+86" + phone),
    )


def _served_topics(topics: np.ndarray, served: np.ndarray) -> np.ndarray:
    """Keep only topics in ``served``; left-align, pad with -1."""
    kept = np.where(np.isin(topics, served), topics, -1)
    swap = kept[:, 0] < 0
    kept[swap] = kept[swap][:, ::-1]
    return kept


def _hash_mask(n: int, mix: tuple[float, float, float], rng: np.random.Generator):
    kind = rng.choice(3, size=n, p=mix)
    return kind != 2, kind != 1  # has email hash, has phone hash


def _take(people: People, idx: np.ndarray) -> People:
    return People(**{k: v[idx] for k, v in vars(people).items()})


def _concat(a: People, b: People) -> People:
    return People(**{k: np.concatenate([v, getattr(b, k)]) for k, v in vars(a).items()})


def build_customers(
    users: PlatformUsers, partners: tuple[str, ...], start: date, days: int, tax: Taxonomy, rng: np.random.Generator
) -> dict[str, Customers]:
    """Partner customers: linked platform users (same hashes) plus partner-only people."""
    n_users = len(users.user_id)
    served = [tax.source_topics(p) for p in partners]
    eligible = np.stack([np.isin(users.people.topics, s).any(axis=1) for s in served], axis=1)
    candidates = np.flatnonzero(eligible.any(axis=1))
    n_linked = min(len(candidates), round(LINKED_SHARE * n_users))
    linked = np.sort(rng.choice(candidates, size=n_linked, replace=False))
    # one partner they surely use (random among eligible), further eligible ones sometimes
    elig = eligible[linked]
    first = np.argmax(np.where(elig, rng.random(elig.shape), -1.0), axis=1)
    uses = elig & (rng.random(elig.shape) < EXTRA_PARTNER_PROB)
    uses[np.arange(n_linked), first] = True

    customers, next_person = {}, n_users
    for j, partner in enumerate(partners):
        members = linked[uses[:, j]]
        n_unlinked = max(round(MIN_UNLINKED_PER_USER * n_users), round(CUSTOMERS_PER_USER * n_users) - len(members), 1)
        own = _people(n_unlinked, start, days, served[j], tax, rng)
        linked_people = _take(users.people, members)
        linked_people.first_day = _first_days(len(members), days, rng)
        linked_people.first_at = _first_at(linked_people.first_day, start, rng)
        linked_people.activity = rng.lognormal(0.0, 0.8, len(members))
        index = np.arange(next_person, next_person + n_unlinked)
        next_person += n_unlinked
        email = np.concatenate([users.email[members], canonical_emails(index, rng)])
        phone = np.concatenate([users.phone[members], canonical_phones(index, rng)])
        has_email, has_phone = (
            np.concatenate(pair)
            for pair in zip(
                _hash_mask(len(members), LINKED_HASH_MIX, rng), _hash_mask(n_unlinked, UNLINKED_HASH_MIX, rng)
            )
        )
        people = _concat(linked_people, own)
        total = len(email)
        # ids in customer-since order, so linked and partner-only customers interleave
        order = np.argsort(people.first_at, kind="stable")
        people = _take(people, order)
        prefix = partner[:2].upper() + "C"
        customers[partner] = Customers(
            partner=partner,
            customer_id=np.char.add(prefix, np.char.zfill(np.arange(1, total + 1).astype(str), 7)).astype(object),
            people=people,
            platform_index=np.concatenate([members, np.full(n_unlinked, -1)])[order],
            partner_topics=_served_topics(people.topics, served[j]),
            email_sha256=np.where(has_email, sha256_hex(email), "")[order].astype(object),
            phone_sha256=np.where(has_phone, sha256_hex("+86" + phone.astype(object)), "")[order].astype(object),
        )
        log.info("built %d %s customers (%d platform users)", total, partner, len(members))
    return customers
