"""The benchmark's data sizes: how many users and days the sample generator writes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

START = date(2026, 11, 1)


@dataclass(frozen=True)
class BenchSize:
    """One size: generator parameters plus settings it needs (e.g. a shorter holdout)."""

    name: str
    users: int
    days: int
    seed: int = 7
    start: date = START
    settings: dict[str, str] = field(default_factory=dict)
    serve_seconds: float = 15.0  # length of each load phase of the serving stage
    # The reference figures and the serving API after the job. Off at L, which measures the job:
    # at M the references took 441 s and the API's process 8.6 GB, both growing with the users.
    extras: bool = True

    @property
    def run_date(self) -> date:
        """The last sample date: the daily job runs once for it and catches up every drop."""
        return self.start + timedelta(days=self.days - 1)


SIZES: dict[str, BenchSize] = {
    # T is for the test suite: a 7-day holdout does not fit into 7 days, and below ~1000 users
    # the model rarely beats popularity, so the DAG would skip scoring and publishing.
    "T": BenchSize("T", users=1_000, days=7, settings={"XREC_HOLDOUT_DAYS": "2"}, serve_seconds=2.0),
    "S": BenchSize("S", users=10_000, days=14),
    # ~2 platform events per user-day: 200k users x 14 days is ~5M interactions, ~20k items a partner.
    "M": BenchSize("M", users=200_000, days=14),
    "L": BenchSize("L", users=1_000_000, days=14, extras=False),  # opt-in only: never a default
}


def parse_sizes(text: str) -> list[str]:
    """'S,M' -> ['S', 'M']; raises ValueError naming an unknown size."""
    names = [part.strip().upper() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in SIZES]
    if unknown or not names:
        raise ValueError(f"unknown benchmark size(s) {unknown or text!r}; choose from {', '.join(SIZES)}")
    return names


# The history growth measure (issue 17): the daily job after a short and after a long history.
HISTORY_DAYS = (7, 60)
# A 7-day holdout does not fit into a 7-day history; both histories use the same settings, so
# that only the history differs.
HISTORY_SETTINGS = {"XREC_HOLDOUT_DAYS": "2"}


def with_history(size: BenchSize, days: int) -> BenchSize:
    """`size` generated over `days` days (same users and seed); named e.g. 'S-60d'."""
    return replace(size, name=f"{size.name}-{days}d", days=days, settings={**size.settings, **HISTORY_SETTINGS})


def parse_history_days(text: str) -> tuple[int, int]:
    """'7,60' -> (7, 60): a short and a longer history, each at least 3 days (a tuning day before
    the measured one, and a holdout)."""
    try:
        short, long = (int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"history days must be two whole numbers SHORT,LONG, got {text!r}") from None
    if not 3 <= short < long:
        raise ValueError(f"history days need 3 <= SHORT < LONG, got {text!r}")
    return short, long


# The backfill measure (issue 17): this many days backfilled after the size's own history.
BACKFILL_DAYS = 30


def with_backfill(size: BenchSize, days: int) -> BenchSize:
    """`size` generated over its own days plus `days` to backfill (same users, seed and settings);
    named e.g. 'S-backfill'."""
    if days < 2:
        raise ValueError(f"a backfill needs at least 2 days (its first and last are compared), got {days}")
    return replace(size, name=f"{size.name}-backfill", days=size.days + days)
