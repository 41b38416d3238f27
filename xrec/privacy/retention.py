"""Retention: raw partitions and quarantine rows older than ``XREC_RAW_RETENTION_DAYS`` are purged.

The daily run's ``purge_expired`` step deletes, from every ``raw.<source>__<entity>`` table,
the partitions delivered before ``run_date - XREC_RAW_RETENTION_DAYS`` and the quarantine rows
of those dates, and logs one ``raw.privacy_audit`` row per table it shrank (plus one summary
row per run). ``raw.load_audit`` keeps its rows (file, size, checksum, counts: no personal data),
and ingest does not load drops older than the cutoff, so a purged drop still in the landing
folder is not loaded again. The suppression list (``platform/deletions``) is kept: it is what
stops an erased person from coming back. Marts are rebuilt from raw each run, so they hold no
history older than the retention window either.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from xrec.catalog import QUARANTINE as QUARANTINE_TABLE
from xrec.config import Settings
from xrec.privacy.audit import log_action
from xrec.privacy.erasure import DELIVERED
from xrec.warehouse import connect

log = logging.getLogger(__name__)

QUARANTINE = QUARANTINE_TABLE.relation


def retention_cutoff(settings: Settings, run_date: date) -> date:
    """The oldest delivery date kept for a run on run_date."""
    return run_date - timedelta(days=settings.raw_retention_days)


def purge_expired(settings: Settings, run_date: date) -> dict:
    """Delete raw data delivered before the cutoff; returns rows removed per table."""
    cutoff = retention_cutoff(settings, run_date)
    removed = {}
    with connect(settings) as con:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw' "
                "and table_type = 'BASE TABLE' and table_name like '%\\_\\_%' escape '\\' order by 1"
            ).fetchall()
        ]
        con.begin()
        try:
            for name in tables:
                relation = f"raw.{name}"
                if relation == DELIVERED:
                    continue
                count = con.execute(f'delete from raw."{name}" where _delivery_date < ?', [cutoff]).fetchone()[0]
                if count:
                    removed[relation] = count
            if tables:
                count = con.execute(f"delete from {QUARANTINE} where delivery_date < ?", [cutoff]).fetchone()[0]
                if count:
                    removed[QUARANTINE] = count
            for relation, count in removed.items():
                log_action(
                    con,
                    "retention",
                    run_date,
                    relation,
                    count,
                    f"delivered before {cutoff} (XREC_RAW_RETENTION_DAYS={settings.raw_retention_days})",
                    cutoff,
                )
            log_action(
                con,
                "retention",
                run_date,
                "raw",
                sum(removed.values()),
                f"{len(removed)} table(s) shrank; kept deliveries from {cutoff}",
                cutoff,
            )
            con.commit()
        except BaseException:
            con.rollback()
            raise
    # The quarantine listings (Data Docs) show raw.quarantine rows: they expire with them.
    for listing in sorted((settings.artifacts / "data_docs" / "quarantine").glob("*/*.*")):
        if listing.suffix in (".csv", ".html") and listing.stem < cutoff.isoformat():
            listing.unlink()
    log.info(
        "retention %s: removed %d rows delivered before %s (%s)",
        run_date,
        sum(removed.values()),
        cutoff,
        ", ".join(f"{t} {n}" for t, n in removed.items()) or "nothing expired",
    )
    return {"cutoff": cutoff.isoformat(), "rows_removed": removed}
