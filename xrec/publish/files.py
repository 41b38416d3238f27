"""Stable file copies for readers that must not touch the live warehouse.

DuckDB lets one process write the warehouse at a time, so BI tools and ad-hoc readers get
Parquet files per run_date and a read-only DuckDB snapshot, both swapped in atomically.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from xrec.config import Settings
from xrec.publish.atomic import replacing
from xrec.publish.catalog import (
    CROSS_RECOMMENDATIONS,
    CURRENT_VIEW,
    SERVING_TABLES,
    Scope,
    ServingTable,
    columns,
    is_nested,
    select_sql,
    served_columns,
)
from xrec.spans import spanned
from xrec.warehouse import day_of_recommendations

log = logging.getLogger(__name__)

SNAPSHOT = "xrec_snapshot"  # the name the publisher attaches the snapshot under while writing it


def parquet_path(settings: Settings, table: str, run_date: date) -> Path:
    """Where one run_date's copy of a served table lives."""
    return settings.artifacts / "parquet" / table / f"run_date={run_date.isoformat()}" / "part.parquet"


def snapshot_path(settings: Settings) -> Path:
    return settings.artifacts / "snapshot" / "warehouse.duckdb"


@dataclass(frozen=True)
class SnapshotWrite:
    path: Path
    rebuilt: str | None  # why the whole snapshot was rebuilt; None: updated with run_date only


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
        # A day's recommendations keep the warehouse's order, which is the score's (per partner and
        # direction, each recipient's list together and in rank order), the same on every re-run:
        # sorting it by every column cost 3x the copy (M, 9.2M rows: 92-104 s of CPU sorted, 32-38 s
        # as stored) for nothing a reader relies on.
        # The other tables come from hash joins in an order that varies: sorting those few rows
        # keeps a re-published day's files byte for byte the same.
        query = select_sql(con, table, [run_date], ordered=table.scope is not Scope.PARTITION)
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
def write_snapshot(con: duckdb.DuckDBPyConnection, settings: Settings, run_date: date) -> SnapshotWrite:
    """Swap in a read-only DuckDB copy of the served tables as the warehouse holds them now.

    BI tools open the snapshot read-only while the pipeline keeps writing the warehouse. A copy
    of the previous snapshot gets only what ``run_date``'s publish changes: its cross_recommendations partition replaced and the small tables rewritten; the
    history of the other days (most of the file: ~4.7 GB at M) is carried over as it is. Rows
    keep the warehouse's order: a reader's query states its own, and sorting a 9.2M-row day
    (M) by every column took 3.5 GB and twice the time of the unsorted insert (performance log).
    The snapshot is rebuilt instead when there is none or when its history no longer matches
    the warehouse's. Readers see the previous file or the new one; a failure leaves the previous one.
    """
    path = snapshot_path(settings)
    with replacing(path) as tmp, day_of_recommendations(con):
        rebuilt = _update(con, path, tmp, run_date)
        if rebuilt is not None:
            tmp.unlink(missing_ok=True)
            with _attached(con, tmp):
                _rebuild(con)
    if rebuilt is None:
        log.info("snapshot: updated with run_date %s in %s", run_date, path)
    else:
        log.info("snapshot: rebuilt (%s) in %s", rebuilt, path)
    return SnapshotWrite(path, rebuilt)


@spanned("snapshot")
def purge_snapshot(con: duckdb.DuckDBPyConnection, settings: Settings, rule: Callable[[list[str]], str | None]) -> int:
    """Delete from every snapshot table the rows ``rule(columns)`` selects (SQL run on ``con``,
    so it may read ``con``'s temp tables); returns how many. Only those rows change: rebuilding
    the snapshot from the warehouse instead took 59 s at M (two days) and grows with history, and
    would also carry over whatever the warehouse holds that was never published. The copy is
    edited and swapped in, so readers see the old or the new file; a snapshot without such rows
    is left as it was."""
    path = snapshot_path(settings)
    if not path.exists():
        return 0
    con.execute(f"attach '{_quote(path)}' as {SNAPSHOT} (read_only)")
    try:
        found = _per_table(con, rule, "select count(*) from")
    finally:
        con.execute(f"detach {SNAPSHOT}")
    if not found:
        return 0
    with replacing(path) as tmp:
        shutil.copyfile(path, tmp)
        with _attached(con, tmp):
            deleted = _per_table(con, rule, "delete from")
    log.info("snapshot: %d rows deleted in %s", deleted, path)
    return deleted


def _per_table(con: duckdb.DuckDBPyConnection, rule: Callable[[list[str]], str | None], statement: str) -> int:
    """The sum over the attached snapshot's tables of ``<statement> <table> where <rule>``."""
    tables = con.execute(
        "select table_name, list(column_name order by ordinal_position) from information_schema.columns "
        "join information_schema.tables using (table_catalog, table_schema, table_name) "
        "where table_catalog = ? and table_type = 'BASE TABLE' group by all order by 1",
        [SNAPSHOT],
    ).fetchall()
    total = 0
    for name, names in tables:
        where = rule(names)
        if where is not None:
            total += con.execute(f'{statement} {SNAPSHOT}.main."{name}" where {where}').fetchone()[0]
    return total


def _update(con: duckdb.DuckDBPyConnection, previous: Path, tmp: Path, run_date: date) -> str | None:
    """Apply run_date's changes to a copy of ``previous`` at ``tmp``; None, or why it could not."""
    if not previous.exists():
        return "no previous snapshot"
    day = select_sql(con, CROSS_RECOMMENDATIONS, [run_date], ordered=False)
    if day is None:
        return "nothing published yet"
    shutil.copyfile(previous, tmp)  # in the kernel (sendfile): 0.2 s for 670 MB in the page cache
    with _attached(con, tmp):
        stale = _stale_history(con, run_date)
        if stale is None:
            # One transaction over the copy: an error leaves it as it was (and it is discarded).
            con.execute("begin transaction")
            try:
                _apply_day(con, run_date, day)
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
    return stale


def _stale_history(con: duckdb.DuckDBPyConnection, run_date: date) -> str | None:
    """Why the attached snapshot's history is not the warehouse's apart from run_date, if so.

    A day republished without its snapshot step finishing, a purge or a new column would
    otherwise stay wrong in the snapshot for good. Row counts per run_date and model_version
    are a cheap fingerprint (two scans of two columns); a rerun replaces a day's model version.
    """
    served = served_columns(con, CROSS_RECOMMENDATIONS) or []
    wanted = [(name, "JSON" if is_nested(dtype) else dtype) for name, dtype in served]
    if columns(con, f"main.{CROSS_RECOMMENDATIONS.name}", SNAPSHOT) != wanted:
        return f"{CROSS_RECOMMENDATIONS.name} columns differ from the warehouse's"
    history = f"{SNAPSHOT}.main.{CROSS_RECOMMENDATIONS.name}"
    if _partitions(con, history, run_date) != _partitions(con, CROSS_RECOMMENDATIONS.relation, run_date):
        return f"{CROSS_RECOMMENDATIONS.name} rows of another run_date differ from the warehouse's"
    return None


def _partitions(con: duckdb.DuckDBPyConnection, relation: str, run_date: date) -> list[tuple]:
    """Rows per (run_date, model_version) of ``relation``, run_date's own left out."""
    return con.execute(
        f"select run_date, model_version, count(*) from {relation} where run_date <> ? group by all order by all",
        [run_date],
    ).fetchall()


def _apply_day(con: duckdb.DuckDBPyConnection, run_date: date, day: tuple[str, list]) -> None:
    """Replace run_date's partition (``day``: its SELECT) and every small table; drop the unserved."""
    history = f"{SNAPSHOT}.main.{CROSS_RECOMMENDATIONS.name}"
    con.execute(f"delete from {history} where run_date = ?", [run_date])
    sql, params = day
    con.execute(f"insert into {history} {sql}", params)
    copied = _copy_tables(con, tuple(t for t in SERVING_TABLES if t is not CROSS_RECOMMENDATIONS))
    unserved = con.execute(
        "select table_name, table_type from information_schema.tables where table_catalog = ? "
        "and table_schema = 'main' and not list_contains(?, table_name)",
        [SNAPSHOT, [CROSS_RECOMMENDATIONS.name, *copied]],
    ).fetchall()
    for name, kind in unserved:  # tables no longer served, and the current view (made anew)
        con.execute(f'drop {"view" if kind == "VIEW" else "table"} {SNAPSHOT}.main."{name}"')
    _create_current_view(con)


def _rebuild(con: duckdb.DuckDBPyConnection) -> None:
    if CROSS_RECOMMENDATIONS.name in _copy_tables(con, SERVING_TABLES):
        _create_current_view(con)


def _copy_tables(con: duckdb.DuckDBPyConnection, tables: tuple[ServingTable, ...]) -> list[str]:
    """(Re)create each of ``tables`` that exists in the warehouse in the snapshot; their names."""
    copied = []
    for table in tables:
        query = select_sql(con, table, None, ordered=False)
        if query is None:
            continue
        sql, params = query
        con.execute(f"create or replace table {SNAPSHOT}.main.{table.name} as {sql}", params)
        copied.append(table.name)
    return copied


def _create_current_view(con: duckdb.DuckDBPyConnection) -> None:
    # A view, so a daily update does not copy the day's rows twice. Its names are unqualified:
    # DuckDB binds them in the view's own database, whatever name a reader attaches it under.
    history = CROSS_RECOMMENDATIONS.name
    con.execute(
        f"create view {SNAPSHOT}.main.{CURRENT_VIEW} as select * from {history} "
        f"where run_date = (select max(run_date) from {history})"
    )


@contextmanager
def _attached(con: duckdb.DuckDBPyConnection, file: Path) -> Iterator[None]:
    """``file`` attached as the snapshot for the block, checkpointed on success and detached.

    Detaching closes it with no WAL beside it, so the file renamed into place stands alone.
    """
    wal = file.with_name(f"{file.name}.wal")
    wal.unlink(missing_ok=True)  # a crashed run's log must not be replayed onto this file
    con.execute(f"attach '{_quote(file)}' as {SNAPSHOT}")
    try:
        yield
        con.execute(f"checkpoint {SNAPSHOT}")
    finally:
        con.execute(f"detach {SNAPSHOT}")
        wal.unlink(missing_ok=True)


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
