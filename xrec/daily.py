"""The daily job's steps, as plain functions of (settings, run_date).

The Airflow DAG (dags/xrec_daily.py) wires these together; the benchmark and the tests call the
same functions, so there is one code path. Each returns a small JSON-able summary (an Airflow
XCom) and raises a domain exception whose message says what went wrong and where.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from xrec.config import PLATFORM, Settings
from xrec.verdicts import Verdict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    """One step of the daily job, in run order: ``function`` of this module, the DAG task that
    calls it, the benchmark stage it is timed in."""

    function: str
    task_id: str
    stage: str
    per_source: bool = False  # once per planned source (the DAG maps it over plan_sources)
    needs_promotion: bool = False  # skipped when the model failed the promotion gate
    input_from: str | None = None  # a step whose results (a list when per source) it takes


# The one order of the job: the DAG's dependencies (tests/dags) and the benchmark follow it.
STEPS: tuple[Step, ...] = (
    Step("ingest", "ingest", "ingest", per_source=True),
    Step("gate_raw", "validate_raw", "gate_raw", per_source=True),
    Step("erase", "erase", "privacy"),
    Step("purge_expired", "purge_expired", "privacy"),
    Step("build_warehouse", "build_warehouse", "dbt", input_from="gate_raw"),
    Step("gate_marts", "validate_marts", "gate_marts"),
    Step("train_and_evaluate", "train_and_evaluate", "train_evaluate"),
    Step("score", "score", "score", needs_promotion=True),
    Step("gate_outputs", "validate_outputs", "gate_outputs", needs_promotion=True),
    Step("publish", "publish", "publish", needs_promotion=True),
    Step("report", "report", "report"),
)


def plan_sources(settings: Settings, partners: list[str] | None = None) -> list[str]:
    """The sources to load today: the platform plus the configured (or requested) partners."""
    if not partners:
        return list(settings.sources)
    unknown = sorted(set(partners) - set(settings.partners))
    if unknown:
        raise ValueError(
            f"unknown partner(s) {unknown}; configured partners are {list(settings.partners)} (XREC_PARTNERS)"
        )
    return [PLATFORM, *[p for p in settings.partners if p in partners]]


class DropLate(Verdict):
    """A source's drop for the run date is still incomplete at the wait timeout."""


def wait_for_drop(settings: Settings, source: str, run_date: date, waiting_since: datetime) -> dict | None:
    """The sensor's poke: {"late": False} once ``source``'s drop for ``run_date`` is complete;
    None while there is time left; at XREC_WAIT_TIMEOUT_MINUTES, {"late": True, ...} under
    XREC_LATE_PARTNER_POLICY=skip (partners only), else DropLate naming the missing marker."""
    from xrec.ingest.landing import SUCCESS_MARKER, drop_folder, drop_is_complete

    if drop_is_complete(settings, source, run_date):
        return {"late": False}
    waited = (datetime.now(UTC) - waiting_since).total_seconds() / 60
    if waited < settings.wait_timeout_minutes:
        return None
    marker = drop_folder(settings, source, run_date) / SUCCESS_MARKER
    message = (
        f"{source} is late: no complete drop for business date {run_date} after "
        f"{waited:.0f} min (XREC_WAIT_TIMEOUT_MINUTES={settings.wait_timeout_minutes}); "
        f"missing marker {marker}"
    )
    if settings.late_partner_policy == "skip" and source != PLATFORM:
        log.warning(
            "%s; XREC_LATE_PARTNER_POLICY=skip: building without its %s drop (its "
            "earlier data still counts); the next run loads it once it lands",
            message,
            run_date,
        )
        return {"late": True, "reason": message}
    raise DropLate(
        f"{message}. Ask {source} to deliver (the drop is complete once "
        f"{SUCCESS_MARKER} is written), then rerun the day; or set "
        "XREC_LATE_PARTNER_POLICY=skip to publish the other partners without it."
    )


def ingest(settings: Settings, source: str, run_date: date) -> dict:
    from xrec.ingest import ingest_source

    summary = ingest_source(settings, source, run_date)
    log.info("%s", summary)
    return {"source": source, "summary": str(summary)}


def gate_raw(settings: Settings, source: str, run_date: date, late: str | None = None) -> dict:
    """Judge every delivery of one source the run will use that has not passed a gate yet;
    apply XREC_RAW_GATE_POLICY to a failure.

    The run date's delivery is validated alone (with its row-count band); earlier deliveries
    whose current load was never judged (a backlog, a late re-delivery) are validated together,
    and one by one only when that fails, to name the bad day. An earlier delivery that failed
    its gate blocks the run until it is re-delivered or accepted (``xrec accept-drop``).
    'stop' re-raises (the run fails, nothing is published). 'exclude' keeps the run going
    without that partner (its earlier data still counts); the platform is never excludable.
    """
    from xrec.quality import QualityGateFailed
    from xrec.quality.deliveries import DeliveryBlocked

    try:
        result = _judge_deliveries(settings, source, run_date)
    except (QualityGateFailed, DeliveryBlocked) as failure:
        if settings.raw_gate_policy == "exclude" and source != PLATFORM:
            log.error("raw gate failed; %s excluded from today's build:\n%s", source, failure)
            return {"source": source, "included": False, "reason": str(failure), "late": late}
        raise
    return {"source": source, "included": True, "result": result, "late": late}


def _judge_deliveries(settings: Settings, source: str, run_date: date) -> str:
    from xrec.quality import QualityGateFailed, validate_raw
    from xrec.quality.deliveries import (
        DeliveryBlocked,
        blocked_message,
        delivery_states,
        record_verdicts,
    )

    states = delivery_states(settings, source, run_date)
    earlier = [s for s in states if s.delivery_date < run_date]
    blocked = [s for s in earlier if s.passed is False]
    if blocked:
        raise DeliveryBlocked(blocked_message(source, blocked, run_date))
    pending = [s for s in earlier if s.passed is None]
    judged = []
    if pending:
        dates = [s.delivery_date for s in pending]
        try:
            result = validate_raw(settings, source, run_date, dates)
            record_verdicts(settings, source, pending, True, "raw gate", "passed", result.run_id)
            judged.append(f"{len(dates)} earlier delivery(ies) {dates[0]}..{dates[-1]} passed")
        except QualityGateFailed:
            for state in pending:  # name the bad day(s)
                _judge_one(settings, source, run_date, state, state.delivery_date)
    today = [s for s in states if s.delivery_date == run_date]
    result = _judge_one(settings, source, run_date, today[0] if today else None, run_date)
    return "; ".join([*judged, str(result)])


def _judge_one(settings: Settings, source: str, run_date: date, state, delivery: date):
    """Validate one delivery and record the verdict on its load; re-raises a failure."""
    from xrec.quality import QualityGateFailed, validate_raw
    from xrec.quality.deliveries import record_verdicts

    states = [state] if state is not None else []
    try:
        result = validate_raw(settings, source, delivery, [delivery])
    except QualityGateFailed as failure:
        record_verdicts(settings, source, states, False, "raw gate", str(failure), failure.result.run_id)
        raise
    record_verdicts(settings, source, states, True, "raw gate", "passed", result.run_id)
    return result


def erase(settings: Settings, run_date: date) -> dict:
    """Apply erasure requests (platform/deletions, xrec forget) before anything is built."""
    from xrec.privacy.erasure import erase as erase_people

    return erase_people(settings, run_date)


def purge_expired(settings: Settings, run_date: date) -> dict:
    """Drop raw partitions and quarantine rows older than XREC_RAW_RETENTION_DAYS."""
    from xrec.privacy.retention import purge_expired as purge

    return purge(settings, run_date)


def build_warehouse(settings: Settings, run_date: date, gate_results: list[dict], full_refresh: bool = False) -> dict:
    from xrec.quality.late import record_late
    from xrec.transform import dbt_build

    included = [r["source"] for r in gate_results if r["included"]]
    excluded = [r["source"] for r in gate_results if not r["included"]]
    record_late(settings, run_date, {r["source"]: r["late"] for r in gate_results if r.get("late")})
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
