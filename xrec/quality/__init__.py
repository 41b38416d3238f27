"""Data-quality gates (Great Expectations) for the raw, marts and outputs layers.

Suites live in ``expectations/<layer>/`` (see expectations/README.md); results go to
``main.data_quality_results`` and the Data Docs site under ``<artifacts>/data_docs``.
"""

from xrec.quality.gates import validate_marts, validate_outputs, validate_raw
from xrec.quality.results import Failure, GateResult, QualityGateFailed, SuiteResult, summarise

__all__ = [
    "Failure",
    "GateResult",
    "QualityGateFailed",
    "SuiteResult",
    "summarise",
    "validate_marts",
    "validate_outputs",
    "validate_raw",
]
