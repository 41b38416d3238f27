"""Catch-up, idempotency, re-delivery and failure behaviour of ingest_source."""

from __future__ import annotations

import logging
from datetime import date

import duckdb
import pandas as pd
import pytest
from conftest import COURSES_HEADER, D1, D2, D3, EVENTS_HEADER, ITEMS_HEADER, csv_text, query, write_drop

from xrec.ingest import IngestError, ingest_source

COURSE = "c{n},Title {n},tech,a|b,{price},Ann,2024-04-01T09:00:00+08:00,true,2024-04-01 09:00:00"


def courses(*prices: str) -> str:
    return csv_text(COURSES_HEADER, *(COURSE.format(n=i, price=p) for i, p in enumerate(prices)))


def snapshot(settings, table: str) -> list[tuple]:
    return query(settings, f"SELECT * FROM {table} ORDER BY ALL")


def test_loads_every_complete_drop_up_to_run_date_only(settings, caplog):
    write_drop(settings, "platform", D1, {"courses.csv": courses("1", "2")})
    write_drop(settings, "platform", D2, {"courses.csv": courses("3")}, complete=False)
    write_drop(settings, "platform", D3, {"courses.csv": courses("4", "5", "6")})
    with caplog.at_level(logging.INFO, logger="xrec.ingest"):
        summary = ingest_source(settings, "platform", D2)
    assert summary.rows_loaded == {"courses": 2}
    assert summary.drops_incomplete == (D2,)
    assert "no _SUCCESS" in caplog.text
    assert query(settings, "SELECT DISTINCT _delivery_date FROM raw.platform__courses") == [(D1,)]
    # A later run catches up on what has landed since.
    write_drop(settings, "platform", D2, {})
    summary = ingest_source(settings, "platform", D3)
    assert summary.drops_loaded == (D2, D3) and summary.drops_unchanged == (D1,)
    assert query(settings, "SELECT _delivery_date, count(*) FROM raw.platform__courses GROUP BY ALL ORDER BY 1") == [
        (D1, 2),
        (D2, 1),
        (D3, 3),
    ]
    assert "loaded" in str(summary)


def test_loading_twice_gives_identical_tables(settings):
    write_drop(settings, "platform", D1, {"courses.csv": courses("1", "-2", "x")})
    ingest_source(settings, "platform", D1)
    before = {t: snapshot(settings, t) for t in ("raw.platform__courses", "raw.quarantine")}
    audit = query(settings, "SELECT * EXCLUDE (loaded_at) FROM raw.load_audit")
    second = ingest_source(settings, "platform", D1)
    assert second.files_loaded == 0 and second.files_skipped == 1
    # Even a forced reload (the audit forgotten) reproduces the same rows.
    query_write(settings, "DELETE FROM raw.load_audit")
    ingest_source(settings, "platform", D1)
    assert {t: snapshot(settings, t) for t in before} == before
    assert query(settings, "SELECT * EXCLUDE (loaded_at) FROM raw.load_audit") == audit


def query_write(settings, sql: str) -> None:
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(sql)


def test_redelivered_drop_replaces_rows_never_duplicates(settings):
    folder = write_drop(
        settings, "platform", D1, {"courses.csv": courses("1", "-2", "3"), "events.csv": csv_text(EVENTS_HEADER)}
    )
    ingest_source(settings, "platform", D1)
    (folder / "courses.csv").write_text(courses("10", "20"), encoding="utf-8")
    (folder / "events.csv").unlink()
    summary = ingest_source(settings, "platform", D2)
    assert summary.files_loaded == 1
    assert query(settings, "SELECT course_id, price FROM raw.platform__courses ORDER BY 1") == [
        ("c0", "10"),
        ("c1", "20"),
    ]
    assert query(settings, "SELECT count(*) FROM raw.quarantine") == [(0,)]
    assert query(settings, "SELECT entity, rows_loaded FROM raw.load_audit") == [("courses", 2)]


def test_landing_folder_is_never_modified(settings):
    folder = write_drop(settings, "platform", D1, {"courses.csv": courses("1"), "notes.txt": "hi"})
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}
    ingest_source(settings, "platform", D1)
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()} == before


def test_gzip_parquet_and_bom_files_load_alike(settings):
    write_drop(settings, "platform", D1, {"courses.csv.gz": courses("1", "2")})
    write_drop(settings, "platform", D2, {"courses.csv": "\ufeff" + courses("3")})
    folder = write_drop(settings, "platform", D3, {})
    frame = pd.DataFrame(
        {
            "course_id": ["c7"],
            "title": ["标题"],
            "category": ["tech"],
            "tags": ["a"],
            "price": [9.5],
            "instructor": ["Bo"],
            "published_at": ["2024-04-01"],
            "is_active": [True],
            "updated_at": ["2024-04-01"],
        }
    )
    frame.to_parquet(folder / "courses.parquet", index=False)
    ingest_source(settings, "platform", D3)
    assert query(
        settings, "SELECT course_id, price, is_active, _source_file, _source_line FROM raw.platform__courses ORDER BY 1"
    ) == [
        ("c0", "1", "true", "platform/2024-05-01/courses.csv.gz", 2),
        ("c0", "3", "true", "platform/2024-05-02/courses.csv", 2),
        ("c1", "2", "true", "platform/2024-05-01/courses.csv.gz", 3),
        ("c7", "9.5", "true", "platform/2024-05-03/courses.parquet", 1),
    ]


def test_new_optional_column_is_added_older_rows_null(settings):
    write_drop(
        settings, "realty", D1, {"items.csv": csv_text(ITEMS_HEADER, "i1,Flat,apartment,100,sh,true,2024-04-01")}
    )
    write_drop(
        settings,
        "realty",
        D2,
        {"items.csv": csv_text(ITEMS_HEADER + ",district,floor", "i2,Flat,apartment,100,sh,true,2024-04-01,Pudong,7")},
    )
    ingest_source(settings, "realty", D2)
    assert query(settings, "SELECT item_id, district, floor FROM raw.realty__items ORDER BY 1") == [
        ("i1", None, None),
        ("i2", "Pudong", "7"),
    ]


def test_unknown_files_are_logged_and_ignored(settings, caplog):
    write_drop(settings, "realty", D1, {"items.csv": csv_text(ITEMS_HEADER), "refunds.csv": "x\n"})
    with caplog.at_level(logging.WARNING, logger="xrec.ingest"):
        summary = ingest_source(settings, "realty", D1)
    assert "refunds.csv" in caplog.text and summary.files_loaded == 1


@pytest.mark.parametrize(
    "name, content, cause",
    [
        ("courses.csv.gz", b"not gzip at all", "gzip"),
        ("courses.csv", "course_id,title\nc1,x\n", "required column"),
        ("courses.parquet", b"PAR1garbage", "Parquet"),
        ("courses.csv", b"\xff\xfe\x00binary", "UTF-8"),
    ],
)
def test_unreadable_file_fails_only_its_source(settings, name, content, cause):
    write_drop(settings, "platform", D1, {name: content, "events.csv": csv_text(EVENTS_HEADER)})
    write_drop(
        settings, "realty", D1, {"items.csv": csv_text(ITEMS_HEADER, "i1,Flat,apartment,100,sh,true,2024-04-01")}
    )
    with pytest.raises(IngestError, match=cause) as error:
        ingest_source(settings, "platform", D1)
    assert f"platform/2024-05-01/{name}" in str(error.value)
    assert ingest_source(settings, "realty", D1).rows_loaded == {"items": 1}
    # Nothing of the failed drop was written.
    assert query(settings, "SELECT DISTINCT source FROM raw.load_audit") == [("realty",)]


def test_unknown_source_is_refused(settings):
    with pytest.raises(IngestError, match="unknown source"):
        ingest_source(settings, "acme", date(2024, 5, 1))
