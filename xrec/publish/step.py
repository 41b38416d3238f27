"""The publish step: promote a gated run, then hand every reader a stable copy of it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from xrec.config import Settings
from xrec.publish.catalog import CROSS_RECOMMENDATIONS, SERVING_TABLES
from xrec.publish.current import publish_partition
from xrec.publish.exports import ExportsFailed, write_partner_exports
from xrec.publish.files import SnapshotWrite, write_parquet, write_snapshot
from xrec.publish.postgres import load_serving
from xrec.publish.serving import write_serving_bundle
from xrec.warehouse import connect

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishSummary:
    run_date: date
    published: bool  # False: no candidates for run_date; the current view was left as it was
    rows: int
    model_versions: tuple[str, ...]
    current_run_date: date | None  # what cross_recommendations_current shows now
    parquet: dict[str, Path] = field(default_factory=dict)
    snapshot: SnapshotWrite | None = None
    serving_rows: dict[str, int] | None = None  # None: no serving DSN configured
    exports: dict[str, Path] = field(default_factory=dict)  # partner -> manifest.json
    serving_bundle: Path | None = None  # what `xrec serve` switches to (None: unpublished)


def publish(settings: Settings, run_date: date) -> PublishSummary:
    """Publish run_date's gated candidates and refresh Parquet, the snapshot, Postgres, exports.

    Without candidates (model not promoted, gate failed) no recommendations are published and
    nothing partners or the current view see changes; model_runs and data-quality copies are
    still refreshed so BI can see why. Re-publishing a date yields identical tables and files.
    A partner whose export could not be written (no pseudonym key) does not stop the others;
    ExportsFailed is raised at the end, after everything else is published, so the run fails.
    """
    failed = None
    with connect(settings) as con:
        partition = publish_partition(con, run_date)
        # Unpublished: the run_date partition is not (re)written, so neither is its copy.
        tables = tuple(t for t in SERVING_TABLES if partition.rows or t is not CROSS_RECOMMENDATIONS)
        parquet = write_parquet(con, settings, run_date, tables)
        snapshot = write_snapshot(con, settings, run_date)
        serving = load_serving(con, settings, run_date)
        bundle = write_serving_bundle(con, settings, run_date) if partition.rows else None
        try:
            exports = write_partner_exports(con, settings, run_date) if partition.rows else {}
        except ExportsFailed as error:
            exports, failed = error.written, error
    summary = PublishSummary(
        run_date=run_date,
        published=partition.rows > 0,
        rows=partition.rows,
        model_versions=partition.model_versions,
        current_run_date=partition.latest_run_date,
        parquet=parquet,
        snapshot=snapshot,
        serving_rows=serving,
        exports=exports,
        serving_bundle=bundle,
    )
    log.info(
        "publish %s: %d recommendations, %d Parquet tables, Postgres %s, %d partner exports",
        run_date,
        summary.rows,
        len(parquet),
        "skipped" if serving is None else f"{sum(serving.values())} rows",
        len(exports),
    )
    if failed is not None:
        raise failed
    return summary
