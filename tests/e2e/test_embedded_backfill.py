"""Issue 16, case 10: on the embedded default (SQLite + LocalExecutor), a day run with
`xrec run`, then `xrec backfill` over it and one day beyond, twice: both backfills succeed, each
is recorded finished by the scheduler (not cancelled), and the re-run days equal the daily run."""

import sqlite3
from datetime import timedelta

import pytest

from tests.e2e.conftest import LAST_DAY, free_port

pytestmark = pytest.mark.e2e

# Two days before the sample's last day: no erasure request falls on either (the sample's are on
# its middle and last day), so the daily partition is comparable at once with what both
# backfills write over it.
DAY = LAST_DAY - timedelta(days=2)
BEYOND = DAY + timedelta(days=1)


def test_backfill_over_a_day_already_run_and_beyond_twice(deployment):
    xrec = deployment()
    xrec.env["XREC_AIRFLOW_PORT"] = str(free_port())  # not another embedded Airflow's
    daily = xrec.xrec("run", "--date", DAY.isoformat())
    assert daily.returncode == 0, daily.stdout[-3000:] + daily.stderr[-3000:]
    daily_day = xrec.recommendations(DAY)
    assert daily_day

    backfilled_beyond = []
    for attempt in (1, 2):
        done = xrec.xrec("backfill", "--start", DAY.isoformat(), "--end", BEYOND.isoformat())
        out = done.stdout + done.stderr
        assert done.returncode == 0, f"backfill {attempt}:\n{out[-4000:]}"
        assert f"{DAY}  success" in out and f"{BEYOND}  success" in out
        assert "cancelled backfill" not in out  # the one before was not left unfinished
        with sqlite3.connect(xrec.root / "airflow" / "airflow.db") as metadata:
            backfills = metadata.execute(
                "select completed_at is not null, is_paused from backfill order by id"
            ).fetchall()
        assert backfills == [(1, 0)] * attempt  # finished, and not by a cancel (which pauses)
        assert xrec.recommendations(DAY) == daily_day, f"backfill {attempt}"
        backfilled_beyond.append(xrec.recommendations(BEYOND))
    assert backfilled_beyond[0] and backfilled_beyond[0] == backfilled_beyond[1]
