"""What xrec serves to readers: the tables, where they live in the warehouse, how they refresh.

One registry drives every stable copy (Parquet, the read-only snapshot, Postgres) so the three
never disagree about which tables BI tools can see.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from enum import Enum

import duckdb

from xrec import catalog

log = logging.getLogger(__name__)


class Scope(Enum):
    """How a served table relates to ``run_date``."""

    PARTITION = "partition"  # history with one partition per run_date; a run replaces its own
    HISTORY = "history"  # small run_date-stamped log: copies per date, served whole
    SNAPSHOT = "snapshot"  # current state as of the run (marts): served whole


@dataclass(frozen=True)
class ServingTable:
    name: str  # the name readers see: Postgres table, snapshot table, Parquet folder
    relation: str  # where it lives in the DuckDB warehouse
    scope: Scope


CROSS_RECOMMENDATIONS = ServingTable(
    catalog.CROSS_RECOMMENDATIONS.name, catalog.CROSS_RECOMMENDATIONS.relation, Scope.PARTITION
)
SERVING_TABLES: tuple[ServingTable, ...] = (
    CROSS_RECOMMENDATIONS,
    ServingTable(catalog.MODEL_RUNS.name, catalog.MODEL_RUNS.relation, Scope.HISTORY),
    ServingTable(catalog.DATA_QUALITY_RESULTS.name, catalog.DATA_QUALITY_RESULTS.relation, Scope.HISTORY),
    ServingTable("dim_person", "marts.dim_person", Scope.SNAPSHOT),
    ServingTable("dim_item", "marts.dim_item", Scope.SNAPSHOT),
    ServingTable("bi_segment_profiles", "marts.bi_segment_profiles", Scope.SNAPSHOT),
    ServingTable("bi_partner_overlap", "marts.bi_partner_overlap", Scope.SNAPSHOT),
    ServingTable("bi_orphan_references", "marts.bi_orphan_references", Scope.SNAPSHOT),
    ServingTable("bi_feedback_daily", "marts.bi_feedback_daily", Scope.SNAPSHOT),
    ServingTable("bi_feedback_by_rank", "marts.bi_feedback_by_rank", Scope.SNAPSHOT),
    ServingTable("bi_ab_uplift", "marts.bi_ab_uplift", Scope.SNAPSHOT),
)
CURRENT_VIEW = "cross_recommendations_current"

# Defence in depth: a column that looks like contact data never leaves the warehouse.
_CONTACT_COLUMN = re.compile(r"email|phone", re.IGNORECASE)


def columns(con: duckdb.DuckDBPyConnection, relation: str, database: str | None = None) -> list[tuple[str, str]] | None:
    """(name, DuckDB type) of ``relation`` in order, or None when it does not exist.

    Only one database counts, the connection's own unless ``database`` names an attached one:
    the snapshot, attached while it is written, holds tables of the same schema and name.
    """
    schema, table = relation.split(".")
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = coalesce(?, current_database()) and table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [database, schema, table],
    ).fetchall()
    return rows or None


def served_columns(con: duckdb.DuckDBPyConnection, table: ServingTable) -> list[tuple[str, str]] | None:
    """The columns of ``table`` readers get (contact-like columns dropped), None if absent."""
    cols = columns(con, table.relation)
    if cols is None:
        return None
    dropped = [name for name, _ in cols if _CONTACT_COLUMN.search(name)]
    if dropped:
        log.warning("%s: not serving contact-like columns %s", table.relation, dropped)
    return [(name, dtype) for name, dtype in cols if name not in dropped]


def select_sql(
    con: duckdb.DuckDBPyConnection, table: ServingTable, run_dates: list[date] | None, ordered: bool = True
) -> tuple[str, list] | None:
    """(SELECT, params) over the served columns of ``table``, in a stable row order if ``ordered``.

    With ``run_dates``, run_date-stamped tables are cut to those dates (per-date copies); with
    None the whole table is selected. Nested types become JSON text so every copy (CSV for
    Postgres, Parquet) reads them alike. None when the table does not exist yet (first day).
    Unordered, rows come in the warehouse's order (a DuckDB copy needs no sort).
    """
    cols = served_columns(con, table)
    if cols is None:
        return None
    exprs = ", ".join(f'to_json("{name}") as "{name}"' if is_nested(dtype) else f'"{name}"' for name, dtype in cols)
    order = " order by " + ", ".join(f'"{name}"' for name, _ in cols) if ordered else ""
    if run_dates is not None and table.scope is not Scope.SNAPSHOT:
        return f"select {exprs} from {table.relation} where list_contains(?, run_date){order}", [run_dates]
    return f"select {exprs} from {table.relation}{order}", []


def is_nested(dtype: str) -> bool:
    """Lists, structs, maps and unions: served as JSON text."""
    return dtype.endswith("]") or dtype.startswith(("STRUCT", "MAP", "UNION"))


def exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    return columns(con, relation) is not None


def latest_published_date(con: duckdb.DuckDBPyConnection) -> date | None:
    """The run_date the current view shows, or None before the first publish."""
    if not exists(con, CROSS_RECOMMENDATIONS.relation):
        return None
    return con.execute(f"select max(run_date) from {CROSS_RECOMMENDATIONS.relation}").fetchone()[0]
