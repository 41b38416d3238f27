"""Fixtures for the dbt tests: settings on a temp warehouse and a tiny hand-made raw layer.

The tiny raw layer (a few rows per table, with planted duplicates, city spellings and identity
links) keeps the SQL tests fast and independent of the sample generator.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pytest

from xrec.config import Settings
from xrec.transform import dbt_build

RUN_DATE = date(2026, 3, 2)
D1, D2, LATE = "2026-03-01", "2026-03-02", "2026-03-03"  # LATE is after RUN_DATE
H = {name: digit * 64 for name, digit in zip("abcdefgh", "abcdef12")}  # fake SHA-256 digests

PARTNER_ITEM_EXTRA = {
    "realty": ("district", "area_sqm", "bedrooms", "listing_type"),
    "finance": ("product_type", "risk_level", "expected_return_pct", "min_investment"),
    "home": ("style", "room"),
    "automod": ("brand", "car_model", "part_type"),
}

# (table, columns, rows); _delivery_date is the last value of each row, file/line are added.
RAW = [
    (
        "platform__users",
        (
            "user_id",
            "email_sha256",
            "phone_sha256",
            "city",
            "birth_year",
            "gender",
            "signup_at",
            "interests",
            "updated_at",
        ),
        [
            (
                "1",
                H["a"],
                H["b"],
                " Shanghai ",
                "1990",
                "m",
                "2025-01-01 10:00:00",
                "Car Culture|",
                "2026-02-01T10:00:00",
                D1,
            ),
            # newer version of user 1: wins (latest updated_at)
            (
                "1",
                H["a"],
                H["b"],
                "上海市",
                "1990",
                "M",
                "2025-01-01 10:00:00",
                "car_culture",
                "2026-02-02T10:00:00",
                D2,
            ),
            ("2", H["c"], None, "xi'an", "1960", "", "2025-01-01 10:00:00", "", "2026-02-01T10:00:00+08:00", D1),
            ("3", None, H["d"], "Atlantis", "1985", "F", "2025-01-01 10:00:00", "", "2026-02-01T10:00:00", D1),
            # delivered after run_date: invisible to this run
            ("4", H["h"], None, "beijing", "1999", "F", "2025-01-01 10:00:00", "", "2026-03-03T00:00:00", LATE),
        ],
    ),
    (
        "platform__courses",
        ("course_id", "title", "category", "tags", "price", "instructor", "published_at", "is_active", "updated_at"),
        [
            (
                "C1",
                '装修入门, "pro"',
                "Interior Design",
                "home|design",
                "99.5",
                "Li",
                "2025-01-01",
                "true",
                "2026-01-01",
                D1,
            ),
            ("C2", "Car basics", "car_culture", "", "0", "Wu", "2025-01-01", "1", "2026-01-01", D1),
        ],
    ),
    (
        "platform__events",
        ("event_id", "user_id", "course_id", "event_type", "rating", "amount", "occurred_at"),
        [
            ("E1", "1", "C1", "purchase", None, "99.5", "2026-02-28T10:00:00", D1),
            ("E1", "1", "C1", "purchase", None, "99.5", "2026-02-28T10:00:00", D2),  # re-sent
            ("E2", "2", "C2", "view", None, None, "2026-03-01T09:00:00", D2),
            ("E3", "1", "C2", "rate", "5", None, "2026-03-01T09:00:00", D2),
            ("E4", "3", "C2", "view", None, None, "2026-03-02T23:00:00", LATE),
        ],
    ),
]
CUSTOMERS = {
    # email matches user 1, phone matches user 3 -> email wins: user 1
    "realty": [
        ("R1", H["a"], H["d"], "shanghai", "1990", "2026-02-01", D1),
        ("R2", None, None, "Chengdu", "1970", "2026-02-01", D1),
    ],
    # phone-only match with user 1
    "finance": [
        ("F1", None, H["b"], "", "1991", "2026-02-01", D1),
        # partner-only, shares email with home H2 -> one person
        ("F2", H["e"], None, "beijing", "1980", "2026-02-01", D1),
    ],
    # email-only match with user 2
    "home": [
        ("H1", H["c"], H["f"], "西安", "1960", "2026-02-01", D1),
        ("H2", H["e"], H["g"], "", "1980", "2026-02-01", D2),
    ],
    "automod": [("A1", None, H["g"], "hefei", "1995", "2026-02-01", D1)],
}


def _load(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...], rows: list) -> None:
    all_columns = (*columns, "_delivery_date", "_source_file", "_source_line")
    ddl = ", ".join(f"{c} VARCHAR" for c in columns)
    con.execute(
        f"create or replace table raw.{table} ({ddl}, _delivery_date DATE, _source_file VARCHAR, _source_line BIGINT)"
    )
    for line, row in enumerate(rows, start=2):
        source_file = f"{table.replace('__', '/')}/{row[-1]}.csv"
        con.execute(
            f"insert into raw.{table} ({', '.join(all_columns)}) values ({', '.join('?' * len(all_columns))})",
            [*row, source_file, line],
        )


def build_tiny_raw(warehouse: Path) -> None:
    """Create raw.* for the platform and the four default partners with a few planted cases."""
    con = duckdb.connect(str(warehouse))
    con.execute("create schema if not exists raw")
    for table, columns, rows in RAW:
        _load(con, table, columns, rows)
    for partner, customers in CUSTOMERS.items():
        _load(
            con,
            f"{partner}__customers",
            ("customer_id", "email_sha256", "phone_sha256", "city", "birth_year", "updated_at"),
            customers,
        )
        extra = PARTNER_ITEM_EXTRA[partner]
        valid = {"risk_level": "4", "listing_type": "sale"}
        items = [
            (
                f"{partner}-I{n}",
                f"{partner} item {n}",
                "Mortgage" if partner == "finance" else "furniture",
                str(1000 * n),
                "Shanghai",
                "true",
                "2026-01-01",
                *(valid.get(c, "x") for c in extra),
                D1,
            )
            for n in (1, 2)
        ]
        _load(
            con,
            f"{partner}__items",
            ("item_id", "title", "category", "price", "city", "is_active", "updated_at", *extra),
            items,
        )
        customer_id = customers[0][0]
        _load(
            con,
            f"{partner}__interactions",
            ("interaction_id", "customer_id", "item_id", "event_type", "amount", "occurred_at"),
            [
                ("X1", customer_id, f"{partner}-I1", "view", None, "2026-02-20 08:00:00", D1),
                ("X2", customer_id, f"{partner}-I2", "purchase", "1000", "2026-03-01 08:00:00", D2),
            ],
        )
    con.close()


def make_settings(directory: Path) -> Settings:
    """Settings whose warehouse, landing, artifacts and exports all live in ``directory``."""
    return Settings.isolated(directory)


def tiny_settings(directory: Path) -> Settings:
    """Settings in ``directory`` whose warehouse holds the tiny raw layer (not built yet)."""
    settings = make_settings(directory)
    build_tiny_raw(settings.warehouse)
    return settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose files all live in tmp_path."""
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def tiny_run_date() -> date:
    return RUN_DATE


@pytest.fixture
def tiny_raw(tmp_path: Path) -> Settings:
    """A fresh tiny raw layer, for tests that build it their own way."""
    return tiny_settings(tmp_path)


@pytest.fixture(scope="module")
def tiny_built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The tiny raw layer built by dbt as of RUN_DATE (shared by a test module)."""
    settings = tiny_settings(tmp_path_factory.mktemp("tiny"))
    dbt_build(settings, RUN_DATE)
    return settings


@pytest.fixture(scope="session")
def settings_in() -> Callable[[Path], Settings]:
    """Factory: settings whose files all live in a given folder."""
    return make_settings
