"""The dbt project on its second engine: the sample built on PostgreSQL (target `postgres`), a full
build then an incremental one, passes every model and test, and its ML marts equal the DuckDB
build's, row for row.

The raw layer is what xrec.ingest wrote into the DuckDB warehouse, copied table by table into a
throw-away Postgres database with COPY (no DuckDB extension: those download at run time).
"""

from __future__ import annotations

import dataclasses
import math
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
import pytest
from psycopg import sql

from xrec.config import Settings
from xrec.ingest import ingest_source
from xrec.transform import dbt_build
from xrec_tools.sample import generate

pytestmark = pytest.mark.postgres

START, DAYS, USERS, SEED = date(2026, 3, 1), 3, 300, 11
RUN_DATE = START + timedelta(days=DAYS - 1)
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
# DuckDB column types in raw (all ingest writes) -> Postgres
PG_TYPES = {"VARCHAR": "text", "DATE": "date", "BIGINT": "bigint", "INTEGER": "integer", "TIMESTAMP": "timestamp"}
# The ML marts the model reads, with their keys. Segments are K-means: scikit-learn's on DuckDB,
# SQL Lloyd iterations on Postgres (models/intermediate/segments/), so segment ids are left out
# of the row comparison and checked on their own (test_segments_...).
ML_MARTS = {
    "ml_items": ["item_key"],
    "ml_item_features": ["item_key", "feature"],
    "ml_persons": ["person_id"],
    "ml_person_features": ["person_id", "feature"],
    "ml_interactions": ["person_id", "item_key"],
    "ml_recipients": ["recipient_source", "recipient_id"],
}
SEGMENT_FEATURE = "segment:"


def copy_raw(warehouse: Path, dsn: str) -> None:
    """Every raw.* table of the DuckDB warehouse, with its column types, into Postgres."""
    with duckdb.connect(str(warehouse), read_only=True) as source, psycopg.connect(dsn, autocommit=True) as target:
        target.execute("create schema if not exists raw")
        tables = [
            t for (t,) in source.execute("select table_name from duckdb_tables() where schema_name = 'raw'").fetchall()
        ]
        for table in tables:
            columns = source.execute(
                "select column_name, data_type from duckdb_columns() where schema_name = 'raw' and table_name = ? "
                "order by column_index",
                [table],
            ).fetchall()
            ddl = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(PG_TYPES[kind])) for name, kind in columns
            )
            target.execute(sql.SQL("create table raw.{} ({})").format(sql.Identifier(table), ddl))
            names = sql.SQL(", ").join(sql.Identifier(name) for name, _ in columns)
            copy = sql.SQL("copy raw.{} ({}) from stdin").format(sql.Identifier(table), names)
            with target.cursor().copy(copy) as writer:
                for row in source.execute(f'select * from raw."{table}"').fetchall():
                    writer.write_row(row)


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """A fresh Postgres database for this module, dropped afterwards."""
    database = f"xrec_test_dbt_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
    try:
        yield database
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database)))


@pytest.fixture(scope="module")
def builds(
    tmp_path_factory: pytest.TempPathFactory, settings_in: Callable[[Path], Settings], pg_database: str
) -> tuple[Settings, str, dict[str, float]]:
    """(DuckDB settings, Postgres DSN, seconds of the run date's build per engine) after building
    the sample on both."""
    settings = settings_in(tmp_path_factory.mktemp("sample"))
    generate(settings.landing, START, DAYS, USERS, SEED)
    for source in settings.sources:
        ingest_source(settings, source, RUN_DATE)
    dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={pg_database}"
    copy_raw(settings.warehouse, dsn)
    seconds = {}
    started = time.perf_counter()
    dbt_build(settings, RUN_DATE)
    seconds["duckdb"] = time.perf_counter() - started
    on_postgres = dataclasses.replace(
        settings, dbt_target="postgres", pg_warehouse_database=pg_database, artifacts=settings.artifacts / "postgres"
    )
    # the day before, then the run date: the second build takes the incremental path on
    # Postgres, and must still equal DuckDB's single full build
    dbt_build(on_postgres, RUN_DATE - timedelta(days=1))
    started = time.perf_counter()
    dbt_build(on_postgres, RUN_DATE)  # raises DbtBuildFailed naming any failed model or test
    seconds["postgres"] = time.perf_counter() - started
    print(f"dbt seed + build seconds for {RUN_DATE} on the sample ({USERS} users, {DAYS} days): {seconds}")
    return settings, dsn, seconds


def _frame(rows: list[tuple], columns: list[str], keys: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    return frame.sort_values(keys, ignore_index=True)


def _marts(settings: Settings, dsn: str, table: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    keys = ML_MARTS[table]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        result = con.execute(f"select * from marts.{table}")
        columns = [d[0] for d in result.description]
        on_duckdb = _frame(result.fetchall(), columns, keys)
    with psycopg.connect(dsn) as con:
        cursor = con.execute(
            sql.SQL("select {} from marts.{}").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in columns), sql.Identifier(table)
            )
        )
        on_postgres = _frame(cursor.fetchall(), columns, keys)
    return on_duckdb, on_postgres


def _same(left: object, right: object) -> bool:
    if pd.isna(left) or pd.isna(right):
        return bool(pd.isna(left) and pd.isna(right))
    if isinstance(left, float) or isinstance(right, float):
        return math.isclose(float(left), float(right), rel_tol=1e-6, abs_tol=1e-9)
    return left == right


def _differences(on_duckdb: pd.DataFrame, on_postgres: pd.DataFrame, keys: list[str]) -> list[str]:
    if len(on_duckdb) != len(on_postgres):
        return [f"{len(on_duckdb)} rows on DuckDB, {len(on_postgres)} on Postgres"]
    differences = []
    for (_, left), (_, right) in zip(on_duckdb.iterrows(), on_postgres.iterrows(), strict=True):
        for column in on_duckdb.columns:
            if not _same(left[column], right[column]):
                differences.append(f"{dict(left[keys])} {column}: {left[column]!r} vs {right[column]!r}")
    return differences[:10]


@pytest.mark.parametrize("table", sorted(ML_MARTS))
def test_ml_marts_on_postgres_equal_duckdb(builds, table: str) -> None:
    settings, dsn, _ = builds
    on_duckdb, on_postgres = _marts(settings, dsn, table)
    assert len(on_duckdb) > 0, f"the sample should fill marts.{table}"
    if table == "ml_persons":
        # segment ids are labels of two K-means runs: compared below as a partition
        on_duckdb, on_postgres = on_duckdb.drop(columns="segment_id"), on_postgres.drop(columns="segment_id")
    if table == "ml_person_features":
        on_duckdb = on_duckdb[~on_duckdb["feature"].str.startswith(SEGMENT_FEATURE)].reset_index(drop=True)
        on_postgres = on_postgres[~on_postgres["feature"].str.startswith(SEGMENT_FEATURE)].reset_index(drop=True)
    assert _differences(on_duckdb, on_postgres, ML_MARTS[table]) == []


def test_segments_on_postgres_cover_the_same_persons(builds) -> None:
    settings, dsn, _ = builds
    on_duckdb, on_postgres = _marts(settings, dsn, "ml_persons")
    segments = on_duckdb[["person_id", "segment_id"]].merge(
        on_postgres[["person_id", "segment_id"]], on="person_id", suffixes=("_duckdb", "_postgres")
    )
    assert len(segments) == len(on_duckdb) == len(on_postgres)
    # the same persons have no interactions (segment 0) and the same number of segments is used
    assert ((segments["segment_id_duckdb"] == 0) == (segments["segment_id_postgres"] == 0)).all()
    assert segments["segment_id_duckdb"].nunique() == segments["segment_id_postgres"].nunique()
    clustered = segments[segments["segment_id_duckdb"] > 0]
    same_duckdb = clustered["segment_id_duckdb"].to_numpy()[:, None] == clustered["segment_id_duckdb"].to_numpy()
    same_postgres = clustered["segment_id_postgres"].to_numpy()[:, None] == clustered["segment_id_postgres"].to_numpy()
    print(
        f"segments: pairs of persons grouped alike on both engines (Rand index) {(same_duckdb == same_postgres).mean():.3f}"
    )
