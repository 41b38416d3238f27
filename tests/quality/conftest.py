"""A tiny warehouse built in tmp_path: raw deliveries, marts and candidates that pass every suite.

Tests corrupt one thing at a time (``write_table``) and check the gate notices it.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.marts import write_marts
from xrec.config import Settings
from xrec.warehouse import connect

RUN_DATE = date(2024, 3, 10)
HASH = "a" * 64


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.isolated(tmp_path, {"XREC_PARTNERS": "realty,finance", "XREC_TOP_K": "3"})


def write_table(settings: Settings, table: str, frame: pd.DataFrame) -> None:
    """(Re)create ``schema.table`` from ``frame``."""
    schema = table.split(".")[0]
    con = connect(settings)
    try:
        con.execute(f"create schema if not exists {schema}")
        con.register("frame", frame)
        con.execute(f"create or replace table {table} as select * from frame")
    finally:
        con.close()


def read_sql(settings: Settings, sql: str) -> pd.DataFrame:
    con = connect(settings, read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def raw_rows(frame: pd.DataFrame, run_date: date, source: str, entity: str) -> pd.DataFrame:
    """Delivered VARCHAR rows plus the raw bookkeeping columns."""
    out = frame.astype("string")
    return out.assign(
        _delivery_date=pd.Timestamp(run_date).date(),
        _source_file=f"{source}/{run_date}/{entity}.csv",
        _source_line=range(2, len(frame) + 2),
    )


def platform_events(n: int, day: date = RUN_DATE) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": [f"e{day:%d}-{i}" for i in range(n)],
            "user_id": ["u1"] * n,
            "course_id": ["k1"] * n,
            "event_type": ["view", " Purchase", "rate", "complete"] * (n // 4) + ["view"] * (n % 4),
            "rating": ["", "", "4", ""] * (n // 4) + [""] * (n % 4),
            "amount": ["", "99.5", "", ""] * (n // 4) + [""] * (n % 4),
            "occurred_at": [f"{day}T09:00:00+08:00"] * n,
        }
    )


def realty_items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["r1", "r2"],
            "title": ["两居室, 近地铁", "loft"],
            "category": ["apartment"] * 2,
            "price": ["3500000", "8000"],
            "city": ["shanghai", ""],
            "is_active": ["true", "FALSE"],
            "updated_at": [f"{RUN_DATE} 08:00:00", f"{RUN_DATE}T23:59:59"],
            "district": ["pudong", "xuhui"],
            "area_sqm": ["80.5", "45"],
            "bedrooms": ["2", "1"],
            "listing_type": ["sale", "Rent"],
        }
    )


def realty_customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2"],
            "email_sha256": [HASH, HASH],
            "phone_sha256": [HASH, HASH],
            "city": ["shanghai", ""],
            "birth_year": ["1985", ""],
            "updated_at": [f"{RUN_DATE} 08:00:00"] * 2,
        }
    )


def write_raw(settings: Settings, source: str, entity: str, frame: pd.DataFrame, run_date: date = RUN_DATE) -> None:
    """Load one delivery the way ingest does: replace that date's rows and its audit row."""
    table = f"raw.{source}__{entity}"
    rows = raw_rows(frame, run_date, source, entity)
    con = connect(settings)
    try:
        con.execute("create schema if not exists raw")
        con.execute(
            "create table if not exists raw.load_audit (source varchar, entity varchar, delivery_date date, "
            "path varchar, size_bytes bigint, sha256 varchar, rows_read bigint, rows_loaded bigint, "
            "rows_quarantined bigint, loaded_at timestamp)"
        )
        con.register("rows", rows)
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema='raw' and table_name=?",
            [f"{source}__{entity}"],
        ).fetchone()[0]
        if exists:
            con.execute(f"delete from {table} where _delivery_date = ?", [run_date])
            con.execute(f"insert into {table} by name select * from rows")
        else:
            con.execute(f"create table {table} as select * from rows")
        con.execute(
            "delete from raw.load_audit where source=? and entity=? and delivery_date=?", [source, entity, run_date]
        )
        con.execute(
            "insert into raw.load_audit values (?, ?, ?, ?, 100, 'x', ?, ?, 0, now())",
            [source, entity, run_date, f"{source}/{run_date}/{entity}.csv", len(frame), len(frame)],
        )
    finally:
        con.close()


def write_quarantine(settings: Settings, rows: list[tuple]) -> None:
    frame = pd.DataFrame(
        rows,
        columns=[
            "source",
            "entity",
            "delivery_date",
            "source_file",
            "source_line",
            "record_key",
            "rule",
            "column_name",
            "bad_value",
        ],
    )
    write_table(settings, "raw.quarantine", frame)


def history(settings: Settings, source: str, entity: str, sizes: list[int]) -> None:
    """Earlier deliveries of ``entity`` (oldest first), ending the day before RUN_DATE."""
    for back, n in zip(range(len(sizes), 0, -1), sizes):
        day = RUN_DATE - timedelta(days=back)
        write_raw(settings, source, entity, platform_events(n, day), day)


@pytest.fixture
def marts(settings: Settings) -> Settings:
    """Marts that pass every mart suite; returns the settings pointing at them."""
    persons = pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P3"],
            "platform_user_id": ["u1", "u2", None],
            "city": ["shanghai", None, "beijing"],
            "birth_year": [1985, 1990, None],
            "age_band": ["35-44", "25-34", None],
            "city_tier": [1, None, 1],
            "risk_tolerance": [2, 5, 3],
            "segment_id": [0, 1, 1],
            "email_sha256": [HASH, None, HASH],
            "phone_sha256": [None, HASH, None],
        }
    )
    recipients = pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P2", "P3"],
            "recipient_source": ["platform", "platform", "realty", "finance"],
            "recipient_id": ["u1", "u2", "c1", "f1"],
            "email_sha256": [HASH, None, None, HASH],
            "phone_sha256": [None, HASH, HASH, None],
        }
    )
    items = pd.DataFrame(
        {
            "item_key": ["platform:k1", "platform:k2", "realty:r1", "realty:r2", "finance:f_lo", "finance:f_hi"],
            "source": ["platform", "platform", "realty", "realty", "finance", "finance"],
            "item_id": ["k1", "k2", "r1", "r2", "f_lo", "f_hi"],
            "title": ["Course 1", "Course 2", "两居室", "loft", "bond fund", "REIT"],
            "category": ["c"] * 6,
            "topic": ["real_estate_investing"] * 6,
            "price": [99.0, 0.0, 3.5e6, 8000.0, 1000.0, 50000.0],
            "price_band": ["<100", "free", "1m+", "1k-9.9k", "1k-9.9k", "10k-99k"],
            "city": [None, None, "shanghai", None, None, None],
            "risk_level": [None, None, None, None, 1, 5],
            "is_active": [True, True, True, True, True, True],
        }
    )
    interactions = pd.DataFrame(
        {
            "person_id": ["P1", "P2"],
            "item_key": ["platform:k1", "realty:r1"],
            "weight": [1.5, 0.2],
            "event_count": [2, 1],
            "first_at": pd.to_datetime(["2024-03-01 10:00", "2024-03-09 10:00"]),
            "last_at": pd.to_datetime(["2024-03-05 10:00", "2024-03-10 23:00"]),
            "delivered_date": [date(2024, 3, 5), RUN_DATE],
        }
    )
    person_features = pd.DataFrame(
        {
            "person_id": ["P1", "P1", "P2", "P3"],
            "feature": ["risk:2", "topic:x", "risk:5", "risk:3"],
            "value": [1.0, 0.4, 1.0, 1.0],
        }
    )
    item_features = items[["item_key"]].assign(feature="source:x", value=1.0)
    fct = pd.DataFrame(
        {
            "interaction_key": ["platform:e1", "realty:i1"],
            "person_id": ["P1", "P2"],
            "item_key": ["platform:k1", "realty:r1"],
            "source": ["platform", "realty"],
            "event_type": ["purchase", "view"],
            "rating": [None, None],
            "amount": [99.0, None],
            "occurred_at": pd.to_datetime(["2024-03-05 10:00", "2024-03-10 23:00"]),
            "delivered_date": [date(2024, 3, 5), RUN_DATE],
        }
    )
    with connect(settings) as con:
        write_marts(
            con,
            {
                "ml_persons": persons,
                "ml_recipients": recipients,
                "ml_items": items,
                "ml_interactions": interactions,
                "ml_person_features": person_features,
                "ml_item_features": item_features,
            },
        )
    for name, frame in {
        "dim_person": persons.drop(columns=["email_sha256", "phone_sha256"]),
        "dim_item": items,
        "fct_interactions": fct,
    }.items():
        write_table(settings, f"marts.{name}", frame)
    return settings


def candidates() -> pd.DataFrame:
    """Candidates for RUN_DATE that keep every business rule."""
    rows = [
        # direction, partner, recipient_id, item_id, rank, person_id
        ("platform_to_partner", "realty", "u1", "r1", 1, "P1"),
        ("platform_to_partner", "realty", "u1", "r2", 2, "P1"),
        ("platform_to_partner", "finance", "u1", "f_lo", 1, "P1"),
        ("platform_to_partner", "finance", "u2", "f_hi", 1, "P2"),
        ("partner_to_platform", "realty", "c1", "k1", 1, "P2"),
        ("partner_to_platform", "realty", "c1", "k2", 2, "P2"),
        ("partner_to_platform", "finance", "f1", "k1", 1, "P3"),
    ]
    frame = pd.DataFrame(rows, columns=["direction", "partner", "recipient_id", "item_id", "rank", "person_id"])
    return frame.assign(
        run_date=RUN_DATE,
        model_version="m1",
        score=1.0 / frame["rank"],
        generated_at=pd.Timestamp("2024-03-11 02:00"),
        variant="model",
        reason="similar readers",
    )
