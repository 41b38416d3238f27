"""The embedded Airflow for humans (issue 16, cases 5 and 9): the plain `airflow` CLI sees
xrec_daily with the project's AIRFLOW_HOME, and dates Airflow would run as a no-op are
refused with a clear message."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from xrec.cli import main
from xrec.config import Settings
from xrec.orchestration.airflow_home import AirflowCommandFailed, bootstrap
from xrec.orchestration.runner import create_backfill


def test_plain_airflow_cli_lists_the_dag_and_its_tasks(tmp_path):
    home = tmp_path / "airflow"
    xrec_env = bootstrap(Settings.from_env({"AIRFLOW_HOME": str(home)}))
    # Only AIRFLOW_HOME: everything else must come from the airflow.cfg xrec wrote.
    env = {"AIRFLOW_HOME": str(home), "PATH": os.environ["PATH"], "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    airflow = str(Path(sys.executable).parent / "airflow")
    listed = subprocess.run([airflow, "tasks", "list", "xrec_daily"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr[-2000:]
    tasks = set(listed.stdout.split())
    assert {"load_source.wait_for_drop", "load_source.ingest", "publish"} <= tasks
    assert oct((home / "airflow.cfg").stat().st_mode)[-3:] == "600"  # it holds the JWT secret

    # A refused backfill shows Airflow's own message, not a bare CalledProcessError.
    with pytest.raises(AirflowCommandFailed, match=r"(?s)`airflow backfill create .*failed.*\n.*\S"):
        create_backfill(xrec_env, date(2026, 11, 2), date(2026, 11, 1))


@pytest.mark.parametrize(
    "argv", [["run", "--date", "1998-04-23"], ["backfill", "--start", "1998-04-20", "--end", "1998-04-23"]]
)
def test_dates_before_the_dags_start_are_refused(argv, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    with pytest.raises(
        SystemExit,
        match=r"1998-04-2\d is before xrec_daily's start_date "
        r"2000-01-01; Airflow would run no task",
    ):
        main(argv)
    assert not (tmp_path / "airflow").exists()  # refused before touching Airflow
