"""`xrec backfill` on the embedded default (SQLite + LocalExecutor), as a data engineer runs it
(issue 16, case 10): a daily run, then a backfill over that day and beyond, then another over
a day already backfilled. Both succeed
(no "database is locked"), re-run the completed days in place with the same tables, and leave
no backfill unfinished."""
import socket
import sqlite3
from datetime import timedelta

import pytest

from tests.e2e.conftest import LAST_DAY

pytestmark = pytest.mark.e2e

FIRST = LAST_DAY - timedelta(days=1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_backfill_over_days_already_run_twice(deployment):
    xrec = deployment("embedded")
    xrec.env["XREC_AIRFLOW_PORT"] = str(_free_port())  # not another session's embedded UI
    assert xrec.xrec("run", "--date", FIRST.isoformat()).returncode == 0
    daily = xrec.query("select distinct model_version from cross_recommendations where run_date = ?",
                       [FIRST])
    assert daily

    # over the day run daily and beyond; then again over a day the first backfill completed
    for start in (FIRST, LAST_DAY):
        done = xrec.xrec("backfill", "--start", start.isoformat(), "--end", LAST_DAY.isoformat())
        out = done.stdout + done.stderr
        assert done.returncode == 0, f"backfill from {start}:\n{out[-4000:]}"
        assert f"{start}  success" in out and f"{LAST_DAY}  success" in out
        assert "database is locked" not in out and "cancelled backfill" not in out
        # The day re-run in place keeps its model (a hash of date, data and parameters).
        # (Its rows were not identical to the daily run's in one run on 2026-11-30: reported.)
        assert xrec.query("select distinct model_version from cross_recommendations "
                          "where run_date = ?", [FIRST]) == daily
        assert xrec.recommendations(LAST_DAY)

    with sqlite3.connect(xrec.root / "airflow" / "airflow.db") as metadata:
        backfills = metadata.execute("select count(*), count(completed_at) from backfill").fetchone()
        running = metadata.execute("select count(*) from dag_run where state in "
                                   "('running', 'queued')").fetchone()[0]
    assert backfills[0] == 2 and running == 0
