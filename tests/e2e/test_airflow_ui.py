"""`xrec airflow` (what `make airflow` calls): the embedded Airflow starts on the port asked for,
with a throw-away AIRFLOW_HOME, shows xrec_daily through its REST API, and Ctrl-C stops every
component it started. (The plain `airflow` CLI on that home: tests/orchestration/
test_embedded_airflow.py.)"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import free_port
from xrec.orchestration import DAG_ID

pytestmark = pytest.mark.e2e


def _get(url: str, token: str | None = None) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _until(what: str, probe, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = probe()
        except OSError:  # not listening yet
            found = None
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"{what} within {timeout}s")


def test_xrec_airflow_serves_the_dag_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW__")}
    env.update(
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        XREC_AIRFLOW_PORT=str(port),
        XREC_WAREHOUSE=str(tmp_path / "w.duckdb"),
        XREC_LANDING=str(tmp_path / "landing"),
        XREC_ARTIFACTS=str(tmp_path / "artifacts"),
        XREC_EXPORTS=str(tmp_path / "exports"),
    )
    # Started with SIGINT ignored, as a background job (or a test worker) starts it: Ctrl-C must
    # stop it all the same.
    ui = subprocess.Popen(
        [str(Path(sys.executable).parent / "xrec"), "airflow"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _until("the api-server answers", lambda: _get(f"{base}/api/v2/monitor/health"), 120)
        # all-admins mode (the embedded default): a token without credentials
        token = _get(f"{base}/auth/token")["access_token"]
        dags = _until(
            f"{DAG_ID} is listed by the REST API",
            lambda: [dag["dag_id"] for dag in _get(f"{base}/api/v2/dags?dag_id_pattern={DAG_ID}", token)["dags"]],
            90,
        )
        assert dags == [DAG_ID]
    finally:
        ui.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            out, _ = ui.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            ui.terminate()  # SIGTERM stops the components too: leave nothing running
            ui.communicate(timeout=120)
            raise
    assert ui.returncode == 0, out[-3000:]
    assert f"Airflow UI: http://127.0.0.1:{port}/" in out
    with pytest.raises(OSError):  # the api-server is gone with it
        _get(f"{base}/api/v2/monitor/health")
