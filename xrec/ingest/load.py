"""The ingest step: load every new or corrected drop of one source up to ``run_date``."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import duckdb

from xrec.config import BUSINESS_TIME_ZONE, Settings
from xrec.ingest.checks import rules_for
from xrec.ingest.entities import entities_for
from xrec.ingest.errors import IngestError
from xrec.ingest.landing import (
    Drop,
    check_against_manifest,
    check_rows_against_manifest,
    drops_up_to,
    entity_files,
    read_manifest,
)
from xrec.ingest.reader import StagedFile, stage_file
from xrec.ingest.store import (
    audited_digests,
    delete_partition,
    ensure_schema,
    replace_partition,
)
from xrec.privacy.retention import retention_cutoff
from xrec.warehouse import connect

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestSummary:
    """What one ``ingest_source`` call did."""

    source: str
    run_date: date
    rows_loaded: dict[str, int] = field(default_factory=dict)  # per entity
    rows_quarantined: dict[str, int] = field(default_factory=dict)  # per entity
    files_loaded: int = 0
    files_skipped: int = 0  # unchanged since their audited load
    drops_loaded: tuple[date, ...] = ()
    drops_unchanged: tuple[date, ...] = ()
    drops_incomplete: tuple[date, ...] = ()

    def __str__(self) -> str:
        entities = (
            ", ".join(
                f"{entity} {self.rows_loaded[entity]:,} rows ({self.rows_quarantined.get(entity, 0):,} quarantined)"
                for entity in sorted(self.rows_loaded)
            )
            or "nothing new"
        )
        text = (
            f"{self.source} up to {self.run_date}: loaded {self.files_loaded} file(s) from "
            f"{len(self.drops_loaded)} drop(s): {entities}; skipped {self.files_skipped} "
            f"unchanged file(s) in {len(self.drops_unchanged)} unchanged drop(s)"
        )
        if self.drops_incomplete:
            dates = ", ".join(str(d) for d in self.drops_incomplete)
            text += f"; {len(self.drops_incomplete)} incomplete drop(s) without _SUCCESS: {dates}"
        return text


def _load_drop(
    con: duckdb.DuckDBPyConnection, drop: Drop, staged: list[StagedFile], withdrawn: list[str]
) -> dict[str, tuple[int, int]]:
    """Replace the drop's changed partitions in one transaction; entity -> (loaded, quarantined)."""
    entities = entities_for(drop.source)
    counts = {}
    con.begin()
    try:
        for file in staged:
            entity = entities[file.file.entity]
            started = time.perf_counter()
            rules = rules_for(entity, set(file.columns), drop.delivery_date)
            counts[entity.name] = replace_partition(con, file, drop.source, entity, drop.delivery_date, rules)
            loaded, quarantined = counts[entity.name]
            log.info(
                "%s: read %d rows, loaded %d, quarantined %d (write %.0f rows/s)",
                file.file.relative_path,
                file.rows_read,
                loaded,
                quarantined,
                file.rows_read / max(time.perf_counter() - started, 1e-9),
            )
        for entity_name in withdrawn:
            log.warning(
                "%s %s: the re-delivered drop no longer has %s; removing its rows",
                drop.source,
                drop.delivery_date,
                entity_name,
            )
            delete_partition(con, drop.source, entity_name, drop.delivery_date)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return counts


def _stage_drop(
    con: duckdb.DuckDBPyConnection, drop: Drop, files: list, manifest: dict | None, staged: list[StagedFile]
) -> None:
    """Stage ``files`` into ``staged`` (the caller drops the temp tables even on error)."""
    entities = entities_for(drop.source)
    for file in files:
        started = time.perf_counter()
        staged.append(stage_file(con, file, entities[file.entity], f"_stage_{file.entity}"))
        check_rows_against_manifest(file, staged[-1].rows_read, manifest)
        log.info(
            "%s: parsed %d rows (%d malformed) at %.0f rows/s",
            file.relative_path,
            staged[-1].rows_read,
            staged[-1].rows_malformed,
            staged[-1].rows_read / max(time.perf_counter() - started, 1e-9),
        )


def _drop_temp_tables(con: duckdb.DuckDBPyConnection, staged: list[StagedFile]) -> None:
    for file in staged:
        con.execute(f"DROP TABLE IF EXISTS {file.table}")
        con.execute(f"DROP TABLE IF EXISTS {file.table}_malformed")


def ingest_source(settings: Settings, source: str, run_date: date) -> IngestSummary:
    """Load ``source``'s complete, new or corrected drops dated <= ``run_date`` into ``raw``.

    Idempotent: a drop whose files match their audited sha256 is skipped; a changed file
    replaces its (source, entity, delivery_date) partition. Raises IngestError naming the file
    when a file cannot be read; nothing of that drop is written then.
    """
    if source not in settings.sources:
        raise IngestError(f"unknown source {source!r}; configured sources are {list(settings.sources)} (XREC_PARTNERS)")
    loaded: Counter[str] = Counter()
    quarantined: Counter[str] = Counter()
    files_loaded = files_skipped = 0
    drops_loaded, unchanged, incomplete = [], [], []
    con = connect(settings)
    try:
        # Offset-less timestamps in extracts are Asia/Shanghai local time (contract).
        con.execute(f"SET TimeZone = '{BUSINESS_TIME_ZONE}'")
        ensure_schema(con)
        cutoff = retention_cutoff(settings, run_date)
        for drop in drops_up_to(settings, source, run_date):
            if drop.delivery_date < cutoff:
                log.info(
                    "%s %s: skipped, older than the retention cutoff %s (XREC_RAW_RETENTION_DAYS)",
                    source,
                    drop.delivery_date,
                    cutoff,
                )
                continue
            if not drop.is_complete:
                log.info("%s %s: skipped, no _SUCCESS marker yet (incomplete drop)", source, drop.delivery_date)
                incomplete.append(drop.delivery_date)
                continue
            files = entity_files(settings, drop)
            manifest = read_manifest(drop)
            check_against_manifest(drop, files, manifest)
            audited = audited_digests(con, source, drop.delivery_date)
            changed = [f for f in files.values() if audited.get(f.entity) != f.sha256]
            withdrawn = sorted(set(audited) - set(files))
            files_skipped += len(files) - len(changed)
            if not changed and not withdrawn:
                log.info(
                    "%s %s: skipped, all %d file(s) match the last audited load", source, drop.delivery_date, len(files)
                )
                unchanged.append(drop.delivery_date)
                continue
            staged: list = []
            try:
                _stage_drop(con, drop, changed, manifest, staged)
                for entity, (n_loaded, n_quarantined) in _load_drop(con, drop, staged, withdrawn).items():
                    loaded[entity] += n_loaded
                    quarantined[entity] += n_quarantined
            finally:
                _drop_temp_tables(con, staged)
            files_loaded += len(changed)
            drops_loaded.append(drop.delivery_date)
    finally:
        con.close()
    summary = IngestSummary(
        source,
        run_date,
        dict(loaded),
        dict(quarantined),
        files_loaded,
        files_skipped,
        tuple(drops_loaded),
        tuple(unchanged),
        tuple(incomplete),
    )
    log.info("%s", summary)
    return summary
