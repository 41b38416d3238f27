"""The few lines `xrec run` prints at the end: what happened and where to look."""

from __future__ import annotations

from datetime import date

import duckdb

from xrec.catalog import LATE_SOURCES, MODEL_RUNS
from xrec.config import Settings
from xrec.quality.orphans import MEANING as ORPHANS_MEANING
from xrec.quality.orphans import TOTALS as ORPHAN_TOTALS
from xrec.warehouse import connect


def _query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    try:
        with connect(settings, read_only=True) as con:
            return con.execute(sql, params or []).fetchall()
    except (duckdb.CatalogException, duckdb.IOException):
        return []


def describe_run(settings: Settings, run_date: date, exit_code: int) -> str:
    lines = [
        "",
        f"xrec_daily for business date {run_date}: {'SUCCESS' if exit_code == 0 else 'FAILED'}",
    ]
    if settings.warehouse.exists():
        from xrec.quality import summarise

        lines.append(summarise(settings, run_date))
    for source, reason in _query(
        settings, f"select source, reason from {LATE_SOURCES.relation} where run_date = ?", [run_date]
    ):
        lines.append(f"  LATE {source}: built from its last good state ({reason})")
    orphans = _query(settings, ORPHAN_TOTALS)
    if orphans:
        lines.append(
            f"  orphan references ({ORPHANS_MEANING}): " + ", ".join(f"{source} {count}" for source, count in orphans)
        )
    model = _query(
        settings,
        f"""
        select model_version, ranker, primary_metric, primary_value, baseline_value, is_published,
               decision_reason
        from {MODEL_RUNS.relation} where run_date = ? order by trained_at desc limit 1""",
        [run_date],
    )
    for version, ranker, metric, value, baseline, published, reason in model:
        lines.append(
            f"  {ranker} ranker {version}: {metric} {value:.4f} vs popularity baseline "
            f"{baseline:.4f} -> {'published' if published else 'not published'} ({reason})"
        )
    counts = _query(
        settings,
        """
        select direction, partner, count(distinct recipient_id), count(*)
        from cross_recommendations where run_date = ? group by all order by all""",
        [run_date],
    )
    for direction, partner, recipients, rows in counts:
        lines.append(f"  {direction:<20} {partner:<8} {recipients:>7} recipients {rows:>8} rows")
    report = settings.artifacts / "reports" / f"{run_date}.html"
    lines += [
        "",
        "Where to look:",
        f"  warehouse (DuckDB)   {settings.warehouse}  (read-only copy for BI: "
        f"{settings.artifacts / 'snapshot' / 'warehouse.duckdb'})",
        "  recommendations      select * from cross_recommendations_current",
        f"  run report           {report}",
        f"  partner exports      {settings.exports}",
        f"  data docs            {settings.artifacts / 'data_docs' / 'index.html'}",
        f"  Airflow logs         {settings.airflow_home / 'logs'}",
    ]
    if settings.serving_dsn:
        lines.append(
            f"  Postgres (BI)        psql '{settings.serving_dsn}' -c "
            f"'select * from {settings.serving_schema}.cross_recommendations_current limit 10'"
        )
    return "\n".join(lines)
