"""Gate results: what a gate returns, what it raises, and the `data_quality_results` table."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from xrec.catalog import DATA_QUALITY_RESULTS
from xrec.config import Settings
from xrec.verdicts import Verdict
from xrec.warehouse import connect

log = logging.getLogger(__name__)

RESULTS_TABLE = DATA_QUALITY_RESULTS.relation
# Failing rows (or values) kept per unmet expectation.
SAMPLE_SIZE = 5
_DDL = DATA_QUALITY_RESULTS.ddl()


@dataclass(frozen=True)
class Failure:
    """One unmet expectation: ``error`` blocks the pipeline, ``warn`` is reported only."""

    suite: str
    expectation: str
    severity: str
    unexpected_count: int | None
    sample: tuple[str, ...]

    def describe(self) -> str:
        count = "" if self.unexpected_count is None else f"{self.unexpected_count} unexpected; "
        return f"{self.suite}: {self.expectation} [{self.severity}]: {count}sample: {list(self.sample)}"


@dataclass(frozen=True)
class SuiteResult:
    """One suite run on one frame (one row of ``data_quality_results``)."""

    suite: str
    rows: int
    evaluated: int
    failures: tuple[Failure, ...] = ()
    quarantined_rows: int = 0
    note: str = ""
    # A suite's one-row table checks (suites.TABLE) are merged with its row checks, not a chunk.
    whole_table: bool = False

    @property
    def errors(self) -> tuple[Failure, ...]:
        return tuple(f for f in self.failures if f.severity == "error")

    @property
    def warnings(self) -> tuple[Failure, ...]:
        return tuple(f for f in self.failures if f.severity == "warn")

    @property
    def passed(self) -> bool:
        return not self.errors


def merge_chunks(results: list[SuiteResult]) -> tuple[SuiteResult, ...]:
    """One result per suite: a chunked suite's chunks summed (rows, each expectation's
    unexpected count) with the first SAMPLE_SIZE sample rows of each failed expectation."""
    by_suite: dict[str, list[SuiteResult]] = {}
    for result in results:
        by_suite.setdefault(result.suite, []).append(result)
    return tuple(parts[0] if len(parts) == 1 else _merged(parts) for parts in by_suite.values())


def _merged(parts: list[SuiteResult]) -> SuiteResult:
    failures: dict[tuple[str, str], list[Failure]] = {}
    for part in parts:
        for failure in part.failures:
            failures.setdefault((failure.expectation, failure.severity), []).append(failure)
    merged = []
    for (expectation, level), found in failures.items():
        counts = [f.unexpected_count for f in found if f.unexpected_count is not None]
        sample = tuple(row for f in found for row in f.sample)[:SAMPLE_SIZE]
        merged.append(Failure(found[0].suite, expectation, level, sum(counts) if counts else None, sample))
    return SuiteResult(
        suite=parts[0].suite,
        rows=sum(p.rows for p in parts),
        # chunks run the same expectations; the table checks are others
        evaluated=max((p.evaluated for p in parts if not p.whole_table), default=0)
        + sum(p.evaluated for p in parts if p.whole_table),
        failures=tuple(merged),
        quarantined_rows=parts[0].quarantined_rows,
        note="; ".join(dict.fromkeys(p.note for p in parts if p.note)),
    )


@dataclass(frozen=True)
class GateResult:
    """Everything one gate call validated (all suites of a layer, for one source or all)."""

    layer: str
    source: str
    run_date: date
    run_id: str
    suites: tuple[SuiteResult, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.suites)

    @property
    def evaluated(self) -> int:
        return sum(s.evaluated for s in self.suites)

    @property
    def failed(self) -> int:
        return sum(len(s.errors) for s in self.suites)

    @property
    def warned(self) -> int:
        return sum(len(s.warnings) for s in self.suites)

    @property
    def failures(self) -> list[Failure]:
        """Every unmet expectation, errors first."""
        found = [f for s in self.suites for f in s.failures]
        return sorted(found, key=lambda f: f.severity != "error")

    def describe(self) -> str:
        return (
            f"{self.layer} gate source={self.source} run_date={self.run_date}: "
            f"{len(self.suites)} suite(s), {self.evaluated} expectations evaluated, "
            f"{self.failed} failed, {self.warned} warned"
        )


class QualityGateFailed(Verdict):
    """An error-level expectation failed; the message lists each one with sample values."""

    def __init__(self, result: GateResult) -> None:
        self.result = result
        lines = [f"data-quality gate FAILED: {result.describe()}"]
        lines += [f"  - {f.describe()}" for f in result.failures if f.severity == "error"]
        lines.append(
            "  Fix the data (or the suite in expectations/ if the rule is wrong) and rerun; "
            "details in data_quality_results and the Data Docs site."
        )
        super().__init__("\n".join(lines))


def record(settings: Settings, result: GateResult) -> None:
    """Replace this gate's rows (same layer, source, run_date, suite) in one transaction."""
    validated_at = datetime.now()
    rows = [
        (
            result.run_id,
            result.layer,
            result.source,
            result.run_date,
            s.suite,
            s.passed,
            s.evaluated,
            len(s.errors),
            len(s.warnings),
            s.quarantined_rows,
            json.dumps([asdict(f) for f in s.failures], ensure_ascii=False, default=str),
            validated_at,
        )
        for s in result.suites
    ]
    con = connect(settings)
    try:
        con.execute(_DDL)
        con.execute("begin")
        con.executemany(
            f"delete from {RESULTS_TABLE} where layer = ? and source = ? and run_date = ? and suite = ?",
            [(result.layer, result.source, result.run_date, s.suite) for s in result.suites],
        )
        if rows:
            con.executemany(f"insert into {RESULTS_TABLE} values ({', '.join('?' * 12)})", rows)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.close()
    log.info("recorded %d suite result(s) for %s", len(rows), result.describe())


def summarise(settings: Settings, run_date: date) -> str:
    """Passed/failed/warned counts per layer for ``run_date``, as a few readable lines."""
    con = connect(settings, read_only=True)
    try:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'main' and table_name = 'data_quality_results'"
        ).fetchone()[0]
        rows = (
            con.execute(
                f"""
                select layer, count(*) as suites, count(*) filter (where passed) as passed,
                       count(*) filter (where not passed) as failed,
                       sum(failed_expectations) as failed_expectations,
                       sum(warned_expectations) as warned_expectations,
                       sum(quarantined_rows) as quarantined_rows
                from {RESULTS_TABLE} where run_date = ?
                group by layer order by array_position(['raw', 'marts', 'outputs'], layer)
                """,
                [run_date],
            ).fetchall()
            if exists
            else []
        )
    finally:
        con.close()
    if not rows:
        return f"data quality {run_date}: no suites recorded"
    lines = [f"data quality {run_date}:"]
    lines += [
        f"  {layer:<8} suites {suites:>3}: {passed} passed, {failed} failed "
        f"({failed_exp} failed / {warned_exp} warned expectations, {quarantine} quarantined rows)"
        for layer, suites, passed, failed, failed_exp, warned_exp, quarantine in rows
    ]
    return "\n".join(lines)
