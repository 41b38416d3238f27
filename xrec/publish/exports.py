"""Partner files: what each partner receives for one published run.

``<exports>/<partner>/<run_date>/`` holds, as CSV and Parquet, exactly the queries
:mod:`xrec.publish.disclosure` decides on (``courses_for_customers``, ``leads``,
``audience_counts``), and ``manifest.json``: files, row counts, SHA-256, model version, the
pseudonym key id and what was withheld and why. The manifest is written last, so a partner that
sees it sees complete files; a re-export first removes the old manifest and any file it no
longer writes.

A partner without a pseudonym key gets nothing for the run (its folder is left without a
manifest); the others are still written, then :class:`ExportsFailed` names the ones that failed.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import duckdb

from xrec.config import Settings
from xrec.digests import sha256_file
from xrec.privacy.keys import MissingExportKey, key_for, load_keys
from xrec.publish.atomic import replacing
from xrec.publish.catalog import CROSS_RECOMMENDATIONS
from xrec.publish.disclosure import Disclosure, disclose, release
from xrec.publish.errors import PublishError
from xrec.spans import spanned

log = logging.getLogger(__name__)

EXPORT_SCHEMA_VERSION = "2"
MANIFEST = "manifest.json"
FORMATS = {"csv": "format csv, header true", "parquet": "format parquet, compression zstd"}


class ExportsFailed(PublishError):
    """Some partners' exports could not be written; the others were."""

    def __init__(self, written: dict[str, Path], failures: dict[str, str]):
        self.written = written
        self.failures = failures
        lines = "\n".join(f"  - {partner}: {reason}" for partner, reason in failures.items())
        super().__init__(f"{len(failures)} partner export(s) failed ({len(written)} written):\n{lines}")

    def __reduce__(self):
        # A task process hands its error to its parent pickled (the benchmark's tasks do): the
        # default reduction would call __init__ with the message alone and raise TypeError there.
        return type(self), (self.written, self.failures)


def export_dir(settings: Settings, partner: str, run_date: date) -> Path:
    return settings.exports / partner / run_date.isoformat()


@spanned("export")
def write_partner_exports(con: duckdb.DuckDBPyConnection, settings: Settings, run_date: date) -> dict[str, Path]:
    """Write every configured partner's files for run_date; returns partner -> manifest path.

    Raises ExportsFailed after writing every partner it could when one or more could not be.
    """
    summary = con.execute(
        f"select string_agg(distinct model_version, ',' order by model_version), max(generated_at) "
        f"from {CROSS_RECOMMENDATIONS.relation} where run_date = ?",
        [run_date],
    ).fetchone()
    written, failures = {}, {}
    try:
        keys = load_keys(settings)
    except MissingExportKey as error:
        keys, failures = {}, {partner: str(error) for partner in settings.partners}
    for partner in settings.partners:
        if partner in failures:
            continue
        try:
            key = key_for(settings, keys, partner)
        except MissingExportKey as error:
            log.error("exports %s/%s: %s", partner, run_date, error)
            failures[partner] = str(error)
            continue
        disclosure = disclose(con, run_date, partner, key, settings.min_audience)
        try:
            written[partner] = _write(con, export_dir(settings, partner, run_date), run_date, disclosure, summary)
        finally:
            release(con)
    if failures:
        raise ExportsFailed(written, failures)
    return written


def _write(
    con: duckdb.DuckDBPyConnection, folder: Path, run_date: date, disclosure: Disclosure, summary: tuple
) -> Path:
    manifest_path = folder / MANIFEST
    manifest_path.unlink(missing_ok=True)  # the folder is incomplete until the new manifest lands
    names = {f"{q.stem}.{fmt}" for q in disclosure.queries for fmt in FORMATS}
    for stale in (p for p in folder.glob("*") if p.is_file() and p.name not in names):
        log.info("exports %s/%s: removing %s, no longer exported", disclosure.partner, run_date, stale.name)
        stale.unlink()
    files = []
    for query in disclosure.queries:
        # The query runs once, into the Parquet file (COPY returns its row count); the CSV is read
        # back from that file in its order: counting and writing each format from the query ran
        # its joins, sorts and grouping sets three times.
        parquet, csv = folder / f"{query.stem}.parquet", folder / f"{query.stem}.csv"
        with replacing(parquet) as tmp:
            rows = con.execute(f"copy ({query.sql}) to '{tmp}' ({FORMATS['parquet']})", query.params).fetchone()[0]
        with replacing(csv) as tmp:
            con.execute(f"copy (from read_parquet('{parquet}')) to '{tmp}' ({FORMATS['csv']})")
        for path in (csv, parquet):  # FORMATS' order
            files.append({"name": path.name, "rows": rows, "bytes": path.stat().st_size, "sha256": sha256_file(path)})
    manifest = {
        "partner": disclosure.partner,
        "run_date": run_date.isoformat(),
        "model_version": summary[0],
        "generated_at": summary[1].isoformat() if summary[1] else None,
        "schema_version": EXPORT_SCHEMA_VERSION,
        "pseudonym": {"algorithm": "HMAC-SHA256", "key_id": disclosure.key_id, "column": "leads.lead_id"},
        "min_audience": disclosure.min_audience,
        "files": files,
        "withheld": disclosure.withheld,
    }
    with replacing(manifest_path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    log.info(
        "exports %s/%s (key %s): %s; withheld %s",
        disclosure.partner,
        run_date,
        disclosure.key_id,
        ", ".join(f"{f['name']}={f['rows']} rows" for f in files[::2]),
        "; ".join(f"{w['what']}: {w.get('recipients', w.get('groups'))}" for w in disclosure.withheld),
    )
    return manifest_path
