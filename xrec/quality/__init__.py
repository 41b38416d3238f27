"""Data-quality gates (Great Expectations) for the raw, marts and outputs layers.

Suites live in ``expectations/<layer>/`` (see expectations/README.md); results go to
``main.data_quality_results`` and the Data Docs site under ``<artifacts>/data_docs``.

The names below are loaded on first use: importing GX costs about 3 s of a task's start, and
the steps that use only this package's GX-free modules (late sources, orphans, quarantine
listings: dbt, training, erasure, the report) must not pay it.
"""

from importlib import import_module

_HOMES = {
    "validate_marts": "gates",
    "validate_outputs": "gates",
    "validate_raw": "gates",
    "Failure": "results",
    "GateResult": "results",
    "QualityGateFailed": "results",
    "SuiteResult": "results",
    "summarise": "results",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
