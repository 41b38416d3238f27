"""Hand-built landing folders and a warehouse in tmp_path for the ingest tests."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import duckdb
import pytest

from xrec.config import Settings

USERS_HEADER = "user_id,email,phone,city,birth_year,gender,signup_at,interests,updated_at"
COURSES_HEADER = "course_id,title,category,tags,price,instructor,published_at,is_active,updated_at"
EVENTS_HEADER = "event_id,user_id,course_id,event_type,rating,amount,occurred_at"
CUSTOMERS_HEADER = "customer_id,email_sha256,phone_sha256,city,birth_year,updated_at"
ITEMS_HEADER = "item_id,title,category,price,city,is_active,updated_at"
INTERACTIONS_HEADER = "interaction_id,customer_id,item_id,event_type,amount,occurred_at"
OUTCOMES_HEADER = "customer_id,item_id,recommended_on,event_type,occurred_at"

D1, D2, D3 = date(2024, 5, 1), date(2024, 5, 2), date(2024, 5, 3)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.isolated(tmp_path)


def write_drop(
    settings: Settings, source: str, day: date, files: dict[str, str | bytes], complete: bool = True
) -> Path:
    """Write ``files`` (name -> text or bytes; '.gz' names are gzipped) as one drop."""
    folder = settings.landing / source / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(gzip.compress(data, mtime=0) if name.endswith(".gz") else data)
    if complete:
        (folder / "_SUCCESS").touch()
    return folder


def csv_text(header: str, *rows: str) -> str:
    return "\n".join((header, *rows)) + "\n"


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def quarantine(settings: Settings) -> list[tuple]:
    """(entity, source_line, record_key, rule, column_name, bad_value), in file order."""
    return query(
        settings,
        "SELECT entity, source_line, record_key, rule, column_name, bad_value "
        "FROM raw.quarantine ORDER BY entity, source_line",
    )
