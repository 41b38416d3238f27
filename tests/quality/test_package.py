"""What importing the package costs: GX (~3 s of a task's start) only where a gate runs."""

from __future__ import annotations

import pytest

import xrec.quality
from tests.imports import loaded


def _loads_gx(statement: str) -> bool:
    return loaded(statement, "great_expectations")["great_expectations"]


def test_steps_without_a_gate_do_not_load_gx():
    # dbt and training record late sources, the report and the run summary read orphans and
    # results, erasure rewrites quarantine listings: none of them validates anything.
    assert not _loads_gx(
        "import xrec.quality.late, xrec.quality.orphans, xrec.quality.quarantine\n"
        "from xrec.quality import QualityGateFailed, summarise\n"
        "import xrec.publish.report, xrec.orchestration.summary, xrec.privacy.erasure, xrec.steps.model"
    )


def test_the_gates_load_gx_when_asked_for():
    assert _loads_gx("from xrec.quality import validate_raw")


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'validate_everything'"):
        xrec.quality.validate_everything  # noqa: B018
