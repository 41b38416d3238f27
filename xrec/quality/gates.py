"""The three data-quality gates the DAG calls: raw (per source), marts and outputs.

Each gate reads its frames from DuckDB (read-only), validates them with the layer's suites,
renders Data Docs, records one ``data_quality_results`` row per suite (replacing a rerun's
rows) and only then raises ``QualityGateFailed`` if an error-level expectation failed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from xrec.config import PLATFORM, Settings
from xrec.quality import frames
from xrec.quality.quarantine import write_listing
from xrec.quality.results import (
    RESULTS_TABLE,
    Failure,
    GateResult,
    QualityGateFailed,
    SuiteResult,
    merge_chunks,
    record,
)
from xrec.quality.suites import ROWS, TABLE, Suite, load_suites
from xrec.quality.validation import Validator
from xrec.spans import span
from xrec.warehouse import connect

log = logging.getLogger(__name__)

ALL_SOURCES = "all"


@dataclass(frozen=True)
class _Job:
    """A frame to validate with a suite, or the result to record without validating."""

    suite: Suite
    source: str
    gx_suite_name: str
    # one GX asset per table; the run_date and the chunk are in the result's run name
    asset_name: str
    chunk: str = ""
    frame: pd.DataFrame | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    scope: str = ROWS
    quarantined_rows: int = 0
    settled: SuiteResult | None = None


def validate_raw(settings: Settings, source: str, run_date: date, deliveries: list[date] | None = None) -> GateResult:
    """Validate ``source``'s delivery of ``run_date`` (rows with ``_delivery_date = run_date``),
    or the rows of several ``deliveries`` judged together (a backlog of earlier deliveries that
    never passed a gate; its row-count band is not applied, the band compares one day's drop).

    Entities without a delivery are recorded as passed with 0 rows and a note.
    """
    deliveries = deliveries or [run_date]
    if source not in settings.sources:
        raise ValueError(f"unknown source {source!r}; configured sources: {settings.sources}")
    with connect(settings, read_only=True) as con:
        quarantine = frames.quarantined(con, source, deliveries)
    for delivery in deliveries:
        listed = quarantine[quarantine["source_file"].str.contains(f"/{delivery.isoformat()}/", regex=False)]
        write_listing(settings.artifacts / "data_docs", source, delivery, listed)
    jobs = _raw_jobs(settings, source, run_date, deliveries, quarantine)
    return _run_gate(settings, "raw", source, max(deliveries), jobs)


def _raw_jobs(
    settings: Settings, source: str, run_date: date, deliveries: list[date], quarantine: pd.DataFrame
) -> Iterator[_Job]:
    """One job per suite, and in a backlog per suite and delivery (a chunk each), its frame read
    as the gate reaches it: a first run at L held its fourteen days of platform rows at once
    (9.6 GB), and a row re-sent on another day is a change, not a duplicate of the earlier one."""
    kind = "platform" if source == PLATFORM else "partner"
    suites = [s for s in load_suites(settings.expectations_dir, "raw") if s.meta.get("applies_to") == kind]
    base = _parameters(settings, run_date)
    with connect(settings, read_only=True) as con:
        for suite in suites:
            table = f"{source}__{suite.entity}"
            quarantined_rows = int((quarantine["entity"] == suite.entity).sum())
            job = _Job(suite, source, f"{suite.name}.{source}", f"raw.{table}", quarantined_rows=quarantined_rows)
            delivered = frames.delivered_rows(con, source, suite.entity, deliveries)
            present = frames.delivered_dates(con, table, deliveries) if frames.table_exists(con, "raw", table) else None
            if delivered is None and not present:
                yield _settle(job, 0, "no delivery on run_date: nothing to validate")
                continue
            if present is None:
                yield _settle(job, 0, f"raw.{table} missing although delivered", missing=f"raw.{table}")
                continue
            reference = frames.reference_rows(con, source, suite.entity, run_date) if len(deliveries) == 1 else None
            job = _Job(**{**job.__dict__, "parameters": {**base, **_row_count_band(suite, reference)}})
            casts = suite.meta.get("casts", {})
            # Delivered but no rows: the empty frame is validated (its row-count rule fails).
            for chunk in [[day] for day in present] or [deliveries]:
                label = chunk[0].isoformat() if len(deliveries) > 1 else ""
                yield _Job(**{**job.__dict__, "chunk": label, "frame": frames.raw_frame(con, table, chunk, casts)})


def validate_marts(settings: Settings, run_date: date) -> GateResult:
    """Validate the marts the ML step and BI read (keys, referential integrity, feature ranges)."""
    return _validate_tables(settings, "marts", run_date)


def validate_outputs(settings: Settings, run_date: date) -> GateResult:
    """Validate ``recommendation_candidates`` for ``run_date`` before anything is published."""
    return _validate_tables(settings, "outputs", run_date)


def _validate_tables(settings: Settings, layer: str, run_date: date) -> GateResult:
    parameters = {**_parameters(settings, run_date), "validated_through": validated_through(settings, run_date)}
    return _run_gate(settings, layer, ALL_SOURCES, run_date, _table_jobs(settings, layer, parameters))


def validated_through(settings: Settings, run_date: date) -> date:
    """The last run_date before ``run_date`` whose marts gate passed (``date.min`` when none).

    A fact mart's frame query keeps the rows delivered after it (``$validated_through``), so the
    gate's time follows what the runs since then brought, not the history; a catch-up of several
    days validates them all, and a rerun of a day validates the same rows again.
    """
    with connect(settings, read_only=True) as con:
        if not frames.table_exists(con, *RESULTS_TABLE.split(".")):
            return date.min
        [(last,)] = con.execute(
            f"select max(run_date) from (select run_date from {RESULTS_TABLE} "
            "where layer = 'marts' and run_date < ? group by run_date having bool_and(passed))",
            [run_date],
        ).fetchall()
    return last or date.min


def _table_jobs(settings: Settings, layer: str, parameters: Mapping[str, Any]) -> Iterator[_Job]:
    """One job per suite, or per chunk of a suite with ``meta.chunk_keys``. Frames are read as the
    gate reaches them, so one chunk at a time is in memory: at M the 9.2M candidate rows in one
    frame took the output gate to 16.8 GB, and a first run's whole fact marts the marts gate to
    6.5 GB (they are chunked by delivered days, up to ``XREC_QUALITY_CHUNK_ROWS`` rows)."""
    with connect(settings, read_only=True) as con:
        for suite in load_suites(settings.expectations_dir, layer):
            table = suite.meta["table"]
            job = _Job(suite, ALL_SOURCES, suite.name, table, parameters=parameters)
            absent = [t for t in (table, *suite.meta.get("reads", ())) if not frames.table_exists(con, *t.split("."))]
            if absent:
                yield _settle(job, 0, f"{absent[0]} does not exist", missing=absent[0])
                continue
            sql = suite.frame_sql or f"select * from {table}"
            # An empty frame has no chunks and is validated whole (its row-count rule fails).
            keys_sql = suite.meta.get("chunk_keys")
            chunks = frames.chunk_keys(con, keys_sql, parameters, settings.quality_chunk_rows) if keys_sql else []
            for chunk in chunks or [{}]:
                label = ".".join(_span(*keys) for keys in chunk.values())
                frame = frames.sql_frame(con, sql, parameters, chunk)
                yield _Job(**{**job.__dict__, "chunk": label, "frame": frame})
            if suite.table_sql:
                frame = frames.sql_frame(con, suite.table_sql, parameters)
                yield _Job(**{**job.__dict__, "asset_name": f"{table}.table", "frame": frame, "scope": TABLE})


def _span(first: Any, last: Any) -> str:
    return str(first) if first == last else f"{first}..{last}"


def _run_gate(settings: Settings, layer: str, source: str, run_date: date, jobs: Iterable[_Job]) -> GateResult:
    run_id = uuid.uuid4().hex
    run_name = f"{layer}-{source}-{run_date.isoformat()}-{run_id[:8]}"
    with span("gx_context"):
        validator = Validator(settings.artifacts / "gx", settings.artifacts / "data_docs")
    results = []
    for job in jobs:
        if job.settled is not None:
            results.append(job.settled)
            continue
        started = time.perf_counter()
        selection = job.suite.applicable(job.source, set(job.frame.columns), job.parameters, job.scope)
        with span("validate", len(job.frame)):
            outcome = validator.validate(
                suite_name=job.suite.name,
                gx_suite_name=job.gx_suite_name,
                asset_name=job.asset_name,
                frame=job.frame,
                expectations=selection.expectations,
                parameters=job.parameters,
                key_columns=job.suite.key_columns,
                run_name=f"{run_name}.{job.chunk}" if job.chunk else run_name,
            )
        note = "; ".join(f"skipped {name}: {reason}" for name, reason in selection.skipped)
        # the table checks' one row is not a row of the mart
        rows = len(job.frame) if job.scope == ROWS else 0
        results.append(
            SuiteResult(
                job.suite.name,
                rows,
                outcome.evaluated,
                outcome.failures,
                job.quarantined_rows,
                note,
                whole_table=job.scope == TABLE,
            )
        )
        log.info(
            "%s %s: %d rows, %d expectations, %d failed (%d error) in %.2fs",
            job.suite.name,
            f"{job.asset_name} {job.chunk}".strip(),
            len(job.frame),
            outcome.evaluated,
            len(outcome.failures),
            len(results[-1].errors),
            time.perf_counter() - started,
        )
    with span("data_docs"):
        validator.build_docs()
    result = GateResult(layer, source, run_date, run_id, merge_chunks(results))
    with span("record"):
        record(settings, result)
    for failure in result.failures:
        log.warning("%s gate %s %s: %s", layer, source, run_date, failure.describe())
    if not result.passed:
        raise QualityGateFailed(result)
    log.info(result.describe())
    return result


def _settle(job: _Job, rows: int, note: str, missing: str | None = None) -> _Job:
    """A job decided without GX: nothing delivered (passes) or a table missing (fails)."""
    failures: tuple[Failure, ...] = ()
    if missing:
        failures = (Failure(job.suite.name, f"table {missing} exists", "error", None, (note,)),)
    settled = SuiteResult(job.suite.name, rows, len(failures), failures, job.quarantined_rows, note)
    return _Job(**{**job.__dict__, "settled": settled})


def _parameters(settings: Settings, run_date: date) -> dict[str, Any]:
    """Values suites reference as ``{"$PARAMETER": name}`` (and frame SQL as ``$name``)."""
    return {
        "run_date": run_date,
        "run_end": frames.run_end(run_date),
        "run_year": run_date.year,
        "sources": list(settings.sources),
        "partners": list(settings.partners),
        "top_k": settings.top_k,
    }


def _row_count_band(suite: Suite, reference: float | None) -> dict[str, float | None]:
    """Row-count band around the reference delivery; None (skipped) when it is too small to judge."""
    band = suite.meta.get("row_count_band")
    if not band or reference is None or reference < band["min_reference_rows"]:
        return {"row_count_floor": None, "row_count_ceiling": None}
    return {"row_count_floor": int(reference * band["low"]), "row_count_ceiling": int(reference * band["high"])}
