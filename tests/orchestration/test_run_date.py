from datetime import date, datetime

import pendulum

from xrec.orchestration import run_date_from_context
from xrec.orchestration.runner import logical_date_for


class _Run:
    def __init__(self, logical_date, run_after=None):
        self.logical_date = logical_date
        self.run_after = run_after


def test_business_date_is_the_logical_date_in_shanghai():
    logical = pendulum.parse(logical_date_for(date(2026, 11, 14)))
    assert run_date_from_context({"params": {}, "dag_run": _Run(logical)}) == date(2026, 11, 14)


def test_param_overrides_and_manual_runs_fall_back_to_run_after():
    run = _Run(None, pendulum.datetime(2026, 11, 20, 1, 0, tz="UTC"))
    assert run_date_from_context({"params": {}, "dag_run": run}) == date(2026, 11, 20)
    ctx = {"params": {"run_date": "2026-11-02"}, "dag_run": run}
    assert run_date_from_context(ctx) == date(2026, 11, 2)
