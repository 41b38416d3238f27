"""Sources a run was built without because their drop was late (XREC_LATE_PARTNER_POLICY=skip).

``main.late_sources`` holds one row per (run_date, late source); a rerun of the day replaces
its rows, so a day rerun after the drop landed no longer lists it. The run report and the
`xrec run` summary show them; the next run loads the late drop (ingest takes every complete
drop up to its date) and its raw gate judges it with the backlog.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb

from xrec.catalog import LATE_SOURCES
from xrec.config import Settings
from xrec.warehouse import connect

TABLE = LATE_SOURCES.relation
_DDL = LATE_SOURCES.ddl()


def record_late(settings: Settings, run_date: date, late: dict[str, str]) -> None:
    """Replace ``run_date``'s rows with ``late`` (source -> reason)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with connect(settings) as con:
        con.execute(_DDL)
        con.execute("begin")
        con.execute(f"delete from {TABLE} where run_date = ?", [run_date])
        if late:
            con.executemany(
                f"insert into {TABLE} values (?, ?, ?, ?)",
                [(run_date, source, reason, now) for source, reason in sorted(late.items())],
            )
        con.execute("commit")


def late_sources(con: duckdb.DuckDBPyConnection, run_date: date) -> list[tuple[str, str]]:
    """(source, reason) the run of ``run_date`` was built without; [] when none or no table."""
    if not con.execute(
        "select count(*) from information_schema.tables where table_schema = 'main' and table_name = 'late_sources'"
    ).fetchone()[0]:
        return []
    return con.execute(f"select source, reason from {TABLE} where run_date = ? order by source", [run_date]).fetchall()
