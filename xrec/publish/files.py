"""Stable file copies for readers that must not touch the live warehouse.

DuckDB lets one process write the warehouse at a time, so BI tools and ad-hoc readers get
Parquet files per run_date and a read-only DuckDB snapshot, both swapped in atomically.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb

from xrec.config import Settings
from xrec.publish.atomic import replacing
from xrec.publish.catalog import (
    CROSS_RECOMMENDATIONS,
    CURRENT_VIEW,
    SERVING_TABLES,
    ServingTable,
    select_sql,
)
from xrec.spans import spanned

log = logging.getLogger(__name__)


def parquet_path(settings: Settings, table: str, run_date: date) -> Path:
    """Where one run_date's copy of a served table lives."""
    return settings.artifacts / "parquet" / table / f"run_date={run_date.isoformat()}" / "part.parquet"


def snapshot_path(settings: Settings) -> Path:
    return settings.artifacts / "snapshot" / "warehouse.duckdb"


@spanned("parquet")
def write_parquet(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    run_date: date,
    tables: tuple[ServingTable, ...] = SERVING_TABLES,
) -> dict[str, Path]:
    """Write run_date's Parquet copy of each served table that exists; returns name -> path."""
    written = {}
    for table in tables:
        query = select_sql(con, table, [run_date])
        if query is None:
            log.info("parquet %s: %s does not exist yet; skipped", run_date, table.relation)
            continue
        sql, params = query
        path = parquet_path(settings, table.name, run_date)
        with replacing(path) as tmp:
            con.execute(f"copy ({sql}) to '{_quote(tmp)}' (format parquet, compression zstd)", params)
        written[table.name] = path
    log.info("parquet %s: wrote %d tables under %s", run_date, len(written), settings.artifacts / "parquet")
    return written


@spanned("snapshot")
def write_snapshot(con: duckdb.DuckDBPyConnection, settings: Settings) -> Path:
    """Copy the served tables (whole) into a fresh DuckDB file and swap it in.

    BI tools open the snapshot read-only while the pipeline keeps writing the warehouse.
    """
    path = snapshot_path(settings)
    with replacing(path) as tmp:
        con.execute(f"attach '{_quote(tmp)}' as xrec_snapshot")
        try:
            copied = _copy_into_snapshot(con)
        finally:
            con.execute("detach xrec_snapshot")
    log.info("snapshot: %d tables in %s", copied, path)
    return path


@spanned("snapshot")
def purge_snapshot(con: duckdb.DuckDBPyConnection, settings: Settings, rule: Callable[[list[str]], str | None]) -> int:
    """Delete from every snapshot table the rows ``rule(columns)`` selects (SQL run on ``con``,
    so it may read ``con``'s temp tables); returns how many. Only the rows change: rebuilding
    the snapshot from the warehouse instead took ~60 s at M and would also publish whatever
    the warehouse holds that was never published. The copy is edited and swapped in, so readers
    see the old or the new file; a snapshot without such rows is left as it was."""
    path = snapshot_path(settings)
    if not path.exists() or not _snapshot_rows(con, path, rule, delete=False):
        return 0
    with replacing(path) as tmp:
        shutil.copyfile(path, tmp)
        deleted = _snapshot_rows(con, tmp, rule, delete=True)
    log.info("snapshot: %d rows deleted in %s", deleted, path)
    return deleted


def _snapshot_rows(
    con: duckdb.DuckDBPyConnection, path: Path, rule: Callable[[list[str]], str | None], delete: bool
) -> int:
    """How many rows of the tables of the DuckDB file ``path`` ``rule`` selects; deleted if ``delete``."""
    statement = "delete from" if delete else "select count(*) from"
    con.execute(f"attach '{_quote(path)}' as xrec_snapshot" + ("" if delete else " (read_only)"))
    try:
        tables = con.execute(
            "select table_name, list(column_name order by ordinal_position) from information_schema.columns "
            "join information_schema.tables using (table_catalog, table_schema, table_name) "
            "where table_catalog = 'xrec_snapshot' and table_type = 'BASE TABLE' group by all order by 1"
        ).fetchall()
        total = 0
        for name, columns in tables:
            where = rule(columns)
            if where is not None:
                total += con.execute(f'{statement} xrec_snapshot.main."{name}" where {where}').fetchone()[0]
        return total
    finally:
        con.execute("detach xrec_snapshot")


def _copy_into_snapshot(con: duckdb.DuckDBPyConnection) -> int:
    copied = []
    for table in SERVING_TABLES:
        query = select_sql(con, table, None)
        if query is None:
            continue
        sql, params = query
        con.execute(f"create table xrec_snapshot.main.{table.name} as {sql}", params)
        copied.append(table)
    if CROSS_RECOMMENDATIONS in copied:
        # A table, not a view: the snapshot is rebuilt per publish and must stand alone.
        history = f"xrec_snapshot.main.{CROSS_RECOMMENDATIONS.name}"
        con.execute(
            f"create table xrec_snapshot.main.{CURRENT_VIEW} as select * from {history} "
            f"where run_date = (select max(run_date) from {history})"
        )
    return len(copied)


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
