"""``raw.privacy_audit``: one row per erasure or retention purge, with counts and never a person's id."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb

AUDIT = "raw.privacy_audit"

_DDL = f"""
create schema if not exists raw;
create table if not exists {AUDIT} (
    action varchar, run_date date, target varchar, cutoff_date date, rows_removed bigint,
    detail varchar, logged_at timestamp
)
"""


def log_action(
    con: duckdb.DuckDBPyConnection,
    action: str,
    run_date: date,
    target: str,
    rows_removed: int,
    detail: str,
    cutoff_date: date | None = None,
) -> None:
    con.execute(_DDL)
    con.execute(
        f"insert into {AUDIT} values (?, ?, ?, ?, ?, ?, ?)",
        [action, run_date, target, cutoff_date, rows_removed, detail, datetime.now(UTC).replace(tzinfo=None)],
    )
