from datetime import date

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


def test_run_progress_shows_task_ends_and_the_failure_reason_only():
    from xrec.orchestration.runner import _progress_line

    lines = [
        "2026-11-23T15:14:53Z [info     ] [DAG TEST] starting task_id=ingest map_index=2 [x] loc=a",
        "2026-11-23T15:14:54Z [info     ] [DAG TEST] end task task_id=ingest map_index=2 [x] loc=a",
        "2026-11-23T15:14:58Z [warning  ] gate: expect_x [error]: sample [xrec.quality.gates] loc=g",
        "2026-11-23T15:14:58Z [error    ] Task failed with exception     [task] loc=task_runner.py:1",
        "xrec.quality.results.QualityGateFailed: data-quality gate FAILED: raw gate source=finance",
        "  - raw.interactions: expect_table_row_count_to_be_between [error]: sample: ['observed: 3']",
        "2026-11-23T15:14:59Z [info     ] something else [x] loc=a",
    ]
    state: dict = {}
    shown = [out for line in lines if (out := _progress_line(line, state))]
    assert shown[0].startswith("  done  ingest[2]")
    assert shown[1:] == [
        "  ERROR Task failed with exception",
        "  FAILED xrec.quality.results.QualityGateFailed: data-quality gate FAILED: raw gate source=finance",
        "      - raw.interactions: expect_table_row_count_to_be_between [error]: sample: ['observed: 3']",
    ]
