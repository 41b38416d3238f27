"""Expectation suites as files: load `expectations/<layer>/<suite>.json` and pick what applies.

A suite file is a Great Expectations ExpectationSuite in JSON (``name``, ``meta``,
``expectations`` of ``{type, kwargs, meta}``); expectations/README.md documents the ``meta``
keys xrec reads. Each expectation's ``meta.severity`` is ``error`` (blocks the pipeline) or
``warn`` (reported only). An optional ``<suite>.sql`` beside the JSON is the DuckDB query that
builds the validated frame (joins that compute relational flag columns).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SEVERITIES = ("error", "warn")
# What a mart expectation checks (meta.scope): the suite frame's rows, or the one row of whole-
# table checks its <suite>.table.sql computes in SQL (cheap ones: row count, key uniqueness).
ROWS, TABLE = "rows", "table"
LAYERS = ("raw", "marts", "outputs")
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list",)


class SuiteFileError(ValueError):
    """A suite file is malformed; the message names the file and the offending expectation."""


@dataclass(frozen=True)
class Suite:
    """One suite file: its name (``<layer>.<file stem>``), meta, expectations and frame query."""

    layer: str
    name: str
    path: Path
    meta: Mapping[str, Any]
    expectations: tuple[Mapping[str, Any], ...]
    frame_sql: str | None = None
    table_sql: str | None = None

    @property
    def entity(self) -> str:
        return self.path.stem

    @property
    def key_columns(self) -> tuple[str, ...]:
        return tuple(self.meta.get("key_columns", ()))

    def applicable(self, source: str, columns: set[str], parameters: Mapping[str, Any], scope: str = ROWS) -> Selection:
        """The expectations that apply to ``source``'s frame with ``columns`` and ``parameters``.

        ``scope`` is ``rows`` (the suite's frame) or ``table`` (the one-row frame of its
        ``<suite>.table.sql``): each expectation belongs to one, ``meta.scope`` (default rows).

        Dropped (and logged): expectations restricted to other sources (``meta.sources``),
        column expectations whose column is absent (the suite's column-set expectation reports
        the missing column once, instead of one exception per expectation), and expectations
        whose ``$PARAMETER`` is None (e.g. the row-count band on a source's first delivery).
        """
        kept, skipped = [], []
        for exp in self.expectations:
            if scope_of(exp) != scope:
                continue
            restricted = exp.get("meta", {}).get("sources")
            if restricted and source not in restricted:
                continue
            missing_cols = [c for c in _columns_of(exp) if c not in columns]
            missing_params = [p for p in _parameters_of(exp) if parameters.get(p) is None]
            if missing_cols or missing_params:
                reason = (
                    f"column(s) {missing_cols} absent"
                    if missing_cols
                    else f"parameter(s) {missing_params} not available"
                )
                skipped.append((label(exp), reason))
                continue
            kept.append(exp)
        for name, reason in skipped:
            log.info("suite %s (%s): skipped %s: %s", self.name, source, name, reason)
        return Selection(tuple(kept), tuple(skipped))


@dataclass(frozen=True)
class Selection:
    expectations: tuple[Mapping[str, Any], ...]
    skipped: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def label(expectation: Mapping[str, Any]) -> str:
    """Readable name of an expectation: ``type(column)`` or ``type(col_a,col_b)`` or ``type``."""
    cols = _columns_of(expectation)
    return f"{expectation['type']}({','.join(cols)})" if cols else expectation["type"]


def scope_of(expectation: Mapping[str, Any]) -> str:
    return expectation.get("meta", {}).get("scope", ROWS)


def severity(expectation: Mapping[str, Any]) -> str:
    return expectation.get("meta", {}).get("severity", "error")


def load_suites(expectations_dir: Path, layer: str) -> list[Suite]:
    """Every suite of ``layer`` (``raw``, ``marts`` or ``outputs``), sorted by file name."""
    if layer not in LAYERS:
        raise ValueError(f"unknown quality layer {layer!r}; expected one of {LAYERS}")
    return [load_suite(path, layer) for path in sorted((expectations_dir / layer).glob("*.json"))]


def load_suite(path: Path, layer: str) -> Suite:
    """Read and check one suite file."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SuiteFileError(f"{path}: not valid JSON ({exc})") from exc
    expected_name = f"{layer}.{path.stem}"
    if doc.get("name") != expected_name:
        raise SuiteFileError(f"{path}: suite name must be {expected_name!r}, not {doc.get('name')!r}")
    for i, exp in enumerate(doc.get("expectations", [])):
        if severity(exp) not in SEVERITIES:
            raise SuiteFileError(
                f"{path}: expectation #{i} {exp.get('type')}: meta.severity must be one of "
                f"{SEVERITIES}, not {severity(exp)!r}"
            )
    sql_path = path.with_suffix(".sql")
    table_sql_path = path.with_suffix(".table.sql")
    for i, exp in enumerate(doc.get("expectations", [])):
        if scope_of(exp) not in (ROWS, TABLE) or (scope_of(exp) == TABLE and not table_sql_path.exists()):
            raise SuiteFileError(
                f"{path}: expectation #{i} {exp.get('type')}: meta.scope must be {ROWS!r}, or "
                f"{TABLE!r} with {table_sql_path.name} beside the suite, not {scope_of(exp)!r}"
            )
    return Suite(
        layer=layer,
        name=expected_name,
        path=path,
        meta=doc.get("meta", {}),
        expectations=tuple(doc.get("expectations", [])),
        frame_sql=sql_path.read_text(encoding="utf-8") if sql_path.exists() else None,
        table_sql=table_sql_path.read_text(encoding="utf-8") if table_sql_path.exists() else None,
    )


def _columns_of(expectation: Mapping[str, Any]) -> list[str]:
    kwargs = expectation.get("kwargs", {})
    cols = [kwargs[k] for k in _COLUMN_KWARGS if k in kwargs]
    for k in _COLUMN_LIST_KWARGS:
        cols.extend(kwargs.get(k, []))
    return cols


def _parameters_of(expectation: Mapping[str, Any]) -> list[str]:
    return [
        v["$PARAMETER"] for v in expectation.get("kwargs", {}).values() if isinstance(v, dict) and "$PARAMETER" in v
    ]
