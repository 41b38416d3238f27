"""Consent (``platform/users.share_with``) and erasure requests (``platform/deletions``) in the sample.

About 20% of users consent to share with one or more partners (a few with ``*``, all of them)
when they first appear; a consenting user who is re-delivered later withdraws with probability
WITHDRAW_PROB (the latest row states the consent in force). A few users linked to partner
customers ask to be erased: one mid-way, the others on the last day. Draws come from generators
of their own, so the rest of the sample is unchanged by them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CONSENT_SHARE = 0.20  # users who consent when they first appear
ALL_PARTNERS_SHARE = 0.15  # of those, the share consenting to every partner ('*')
WITHDRAW_PROB = 0.5  # a consenting user re-delivered later withdraws
DELETIONS = 3  # users asking to be erased
DELETION_COLUMNS = ["user_id", "requested_at"]


@dataclass
class Consent:
    """The consent each user has stated so far and who asks to be erased when."""

    share_with: np.ndarray  # per user, '' = none
    stated: np.ndarray  # bool: the user's first row (and its consent) has been delivered
    deletion_day: np.ndarray  # per user, day index of the erasure request, -1 = none
    seed: int

    def rng(self, day: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, 4000, day])


def plan_consent(user_ids: np.ndarray, linked: np.ndarray, partners: tuple[str, ...], days: int, seed: int) -> Consent:
    """Consent state for ``user_ids``; erasure candidates are drawn from the ``linked`` users."""
    rng = np.random.default_rng([seed, 4000])
    n = len(user_ids)
    consents = rng.random(n) < CONSENT_SHARE
    share = np.full(n, "", dtype=object)
    for i in np.flatnonzero(consents):
        if rng.random() < ALL_PARTNERS_SHARE:
            share[i] = "*"
        else:
            chosen = rng.choice(partners, size=rng.integers(1, len(partners) + 1), replace=False)
            share[i] = "|".join(sorted(chosen))
    deletion_day = np.full(n, -1)
    candidates = np.flatnonzero(linked)
    erased = rng.choice(candidates, size=min(DELETIONS, len(candidates)), replace=False)
    deletion_day[erased] = days - 1
    if len(erased) and days > 2:
        deletion_day[erased[0]] = days // 2
    return Consent(share, np.zeros(n, dtype=bool), deletion_day, seed)


def add_share_with(consent: Consent, frame: pd.DataFrame, rows: np.ndarray, day: int) -> pd.DataFrame:
    """The users rows ``rows`` (positions in ``frame``) with the consent they state today."""
    rng = consent.rng(day)
    restated = consent.stated[rows] & (consent.share_with[rows] != "")
    withdraw = rows[restated & (rng.random(len(rows)) < WITHDRAW_PROB)]
    consent.share_with[withdraw] = ""
    consent.stated[rows] = True
    return frame.assign(share_with=consent.share_with[rows])


def deletions_frame(consent: Consent, user_ids: np.ndarray, day: int, run_date_text: str) -> pd.DataFrame | None:
    """Today's ``platform/deletions`` rows, or None when nobody asks to be erased today."""
    asked = np.flatnonzero(consent.deletion_day == day)
    if not len(asked):
        return None
    return pd.DataFrame(
        {"user_id": user_ids[asked], "requested_at": f"{run_date_text}T09:00:00"},
        columns=DELETION_COLUMNS,
        dtype=object,
    )
