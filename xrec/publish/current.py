"""Promote a run's gated candidates into ``cross_recommendations`` and the current view.

Everything happens in one DuckDB transaction: a reader of the warehouse sees either the
previous publication or this one, never the partition half-replaced or the view pointing at
a run whose model_runs row is not yet marked published.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import duckdb

from xrec import catalog
from xrec.catalog import RECOMMENDATION_COLUMNS
from xrec.publish.catalog import (
    CROSS_RECOMMENDATIONS,
    CURRENT_VIEW,
    columns,
    exists,
    latest_published_date,
)
from xrec.publish.errors import PublishError
from xrec.spans import spanned
from xrec.warehouse import day_of_recommendations

log = logging.getLogger(__name__)

CANDIDATES = catalog.RECOMMENDATION_CANDIDATES.relation
MODEL_RUNS = catalog.MODEL_RUNS.relation


@dataclass(frozen=True)
class PartitionResult:
    rows: int  # 0: nothing published, the current view is untouched
    model_versions: tuple[str, ...]
    latest_run_date: date | None  # what cross_recommendations_current shows afterwards


@spanned("cross_recommendations")
def publish_partition(con: duckdb.DuckDBPyConnection, run_date: date) -> PartitionResult:
    """Replace the run_date partition with that date's candidates and refresh the current view.

    Publishes nothing when there are no candidates for run_date (the model was not promoted or
    the output gate stopped the run): the partition and the current view stay as they were.
    """
    con.execute("begin transaction")
    try:
        result = _publish(con, run_date)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result


def _publish(con: duckdb.DuckDBPyConnection, run_date: date) -> PartitionResult:
    rows = 0
    if exists(con, CANDIDATES):
        rows = con.execute(f"select count(*) from {CANDIDATES} where run_date = ?", [run_date]).fetchone()[0]
    if rows == 0:
        latest = latest_published_date(con)
        log.info("publish %s: no recommendation candidates; current view stays at %s", run_date, latest)
        return PartitionResult(0, (), latest)

    _check_candidate_columns(con)
    column_defs = ", ".join(f'"{name}" {dtype}' for name, dtype in RECOMMENDATION_COLUMNS)
    con.execute(f"create table if not exists {CROSS_RECOMMENDATIONS.relation} ({column_defs})")
    con.execute(f"delete from {CROSS_RECOMMENDATIONS.relation} where run_date = ?", [run_date])
    names = ", ".join(f'"{name}"' for name, _ in RECOMMENDATION_COLUMNS)
    casts = ", ".join(f'cast("{name}" as {dtype}) as "{name}"' for name, dtype in RECOMMENDATION_COLUMNS)
    with day_of_recommendations(con):
        con.execute(
            f"insert into {CROSS_RECOMMENDATIONS.relation} ({names}) select {casts} from {CANDIDATES} where run_date = ?",
            [run_date],
        )
    versions = tuple(
        row[0]
        for row in con.execute(
            f"select distinct model_version from {CANDIDATES} where run_date = ? order by 1", [run_date]
        ).fetchall()
    )
    if exists(con, MODEL_RUNS):
        # Exactly the runs whose rows are now served count as published for that date.
        con.execute(
            f"update {MODEL_RUNS} set is_published = list_contains(?, model_version) where run_date = ?",
            [list(versions), run_date],
        )
    else:
        log.warning("publish %s: %s is missing; no run marked published", run_date, MODEL_RUNS)
    con.execute(
        f"create or replace view main.{CURRENT_VIEW} as "
        f"select * from {CROSS_RECOMMENDATIONS.relation} "
        f"where run_date = (select max(run_date) from {CROSS_RECOMMENDATIONS.relation})"
    )
    latest = latest_published_date(con)
    log.info("publish %s: %d recommendations of %s; current view at %s", run_date, rows, versions, latest)
    return PartitionResult(rows, versions, latest)


def _check_candidate_columns(con: duckdb.DuckDBPyConnection) -> None:
    present = {name for name, _ in columns(con, CANDIDATES)}
    missing = [name for name, _ in RECOMMENDATION_COLUMNS if name not in present]
    if missing:
        raise PublishError(
            f"{CANDIDATES} lacks columns {missing} that cross_recommendations requires "
            "(docs/interfaces.md, outputs); fix the scoring step and rerun it before publishing"
        )
