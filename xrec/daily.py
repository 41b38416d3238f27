"""The daily job's steps, as plain functions of (settings, run_date).

The Airflow DAG (dags/xrec_daily.py) wires these together; the benchmark and the tests call the
same functions, so there is one code path. Each returns a small JSON-able summary (an Airflow
XCom) and raises a domain exception whose message says what went wrong and where.
"""
from __future__ import annotations

import logging
from datetime import date

from xrec.config import PLATFORM, Settings

log = logging.getLogger(__name__)


def plan_sources(settings: Settings, partners: list[str] | None = None) -> list[str]:
    """The sources to load today: the platform plus the configured (or requested) partners."""
    if not partners:
        return list(settings.sources)
    unknown = sorted(set(partners) - set(settings.partners))
    if unknown:
        raise ValueError(
            f"unknown partner(s) {unknown}; configured partners are {list(settings.partners)} "
            "(XREC_PARTNERS)"
        )
    return [PLATFORM, *[p for p in settings.partners if p in partners]]


def drop_is_ready(settings: Settings, source: str, run_date: date) -> bool:
    from xrec.ingest.landing import drop_is_complete

    return drop_is_complete(settings, source, run_date)


def ingest(settings: Settings, source: str, run_date: date) -> dict:
    from xrec.ingest import ingest_source

    summary = ingest_source(settings, source, run_date)
    log.info("%s", summary)
    return {"source": source, "summary": str(summary)}


def gate_raw(settings: Settings, source: str, run_date: date) -> dict:
    """Validate today's drop of one source; apply XREC_RAW_GATE_POLICY to a failure.

    'stop' re-raises (the run fails, nothing is published). 'exclude' keeps the run going without
    that partner (its earlier data still counts); the platform is never excludable.
    """
    from xrec.quality import QualityGateFailed, validate_raw

    try:
        result = validate_raw(settings, source, run_date)
    except QualityGateFailed as failure:
        if settings.raw_gate_policy == "exclude" and source != PLATFORM:
            log.error("raw gate failed; %s excluded from today's build:\n%s", source, failure)
            return {"source": source, "included": False, "reason": str(failure)}
        raise
    return {"source": source, "included": True, "result": str(result)}


def erase(settings: Settings, run_date: date) -> dict:
    """Apply erasure requests (platform/deletions, xrec forget) before anything is built."""
    from xrec.privacy.erasure import erase as erase_people

    return erase_people(settings, run_date)


def purge_expired(settings: Settings, run_date: date) -> dict:
    """Drop raw partitions and quarantine rows older than XREC_RAW_RETENTION_DAYS."""
    from xrec.privacy.retention import purge_expired as purge

    return purge(settings, run_date)


def build_warehouse(
    settings: Settings, run_date: date, gate_results: list[dict], full_refresh: bool = False
) -> dict:
    from xrec.transform import dbt_build

    included = [r["source"] for r in gate_results if r["included"]]
    excluded = [r["source"] for r in gate_results if not r["included"]]
    dbt_build(settings, run_date, sources=included, full_refresh=full_refresh)
    return {"sources": included, "excluded": excluded}


def gate_marts(settings: Settings, run_date: date) -> dict:
    from xrec.quality import validate_marts

    return {"result": str(validate_marts(settings, run_date))}


def train_and_evaluate(settings: Settings, run_date: date) -> dict:
    from xrec.steps.model import train_and_evaluate as train

    run = train(settings, run_date)
    return {
        "model_version": run.model_version,
        "ranker": run.ranker,
        "is_promoted": bool(run.is_promoted),
        "reason": run.decision_reason,
    }


def score(settings: Settings, run_date: date) -> int:
    from xrec.steps.model import score_candidates

    return score_candidates(settings, run_date)


def gate_outputs(settings: Settings, run_date: date) -> dict:
    from xrec.quality import validate_outputs

    return {"result": str(validate_outputs(settings, run_date))}


def publish(settings: Settings, run_date: date) -> dict:
    from xrec.publish import publish as publish_run

    return {"summary": str(publish_run(settings, run_date))}


def report(settings: Settings, run_date: date) -> str:
    from xrec.publish.report import build_report

    return str(build_report(settings, run_date))
