"""Running xrec_daily through Airflow: one day in-process (`airflow dags test`), or through a
real scheduler (api-server + scheduler + dag-processor + triggerer [+ Celery worker]) for
triggered runs and backfills."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from xrec.config import BUSINESS_TIME_ZONE, Settings
from xrec.orchestration import DAG_ID, SCHEDULED_AT
from xrec.orchestration.airflow_home import (
    AirflowCommandFailed,
    AirflowTopology,
    airflow,
    bootstrap,
)

log = logging.getLogger(__name__)

BUSINESS_TZ = ZoneInfo(BUSINESS_TIME_ZONE)


def logical_date_for(run_date: date) -> str:
    return datetime.combine(run_date, SCHEDULED_AT, BUSINESS_TZ).isoformat()


def run_day_in_process(settings: Settings, run_date: date, partners: list[str] | None = None) -> int:
    """One DAG run for ``run_date`` with `airflow dags test` (no scheduler needed); exit code.

    Airflow's full output goes to a log file; the terminal shows each task as it starts and
    ends, and every error line, so a newcomer sees progress rather than a wall of logs.
    """
    env = bootstrap(settings, AirflowTopology(api_port=settings.airflow_port))
    conf = json.dumps({"partners": partners or []})
    cmd = [str(Path(sys.executable).parent / "airflow"), "dags", "test", DAG_ID, logical_date_for(run_date), "-c", conf]
    log_path = settings.airflow_home / "logs" / f"xrec-run-{run_date}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"running {DAG_ID} for business date {run_date} through Airflow; full log: {log_path}", flush=True)
    state: dict = {}
    with (
        open(log_path, "w") as full_log,
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc,
    ):
        for line in proc.stdout:
            full_log.write(line)
            progress = _progress_line(line, state)
            if progress:
                print(progress, flush=True)
    if proc.returncode == 0 and not state.get("ended"):
        # Airflow marks a run that executed no task successful (e.g. a date it would not
        # schedule): that is not a successful day.
        print(
            f"  FAILED no task of {DAG_ID} ran for {run_date} although Airflow reported success; see {log_path}",
            flush=True,
        )
        return 1
    return proc.returncode


_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Failed|Exception|Timeout)\w*: ")
_ERROR_EVENT = re.compile(r"^\S+ \[error\s*\] (.*?)\s+\[[\w.]+\]")


def _progress_line(line: str, state: dict) -> str | None:
    """A short terminal line for a task start/end, an error event or an exception (with its
    indented detail lines) in `dags test` output; None for everything else."""
    started = state.setdefault("started", {})
    if state.get("in_exception") and line.startswith("  "):
        return "    " + line.rstrip()
    state["in_exception"] = False
    if "[DAG TEST] starting task_id=" in line or "[DAG TEST] end task task_id=" in line:
        task = line.split("task_id=", 1)[1].split()[0]
        index = line.split("map_index=", 1)[1].split()[0]
        name = task if index == "-1" else f"{task}[{index}]"
        if "starting" in line:
            started[name] = time.monotonic()
            return None
        state["ended"] = state.get("ended", 0) + 1
        return f"  done  {name:<34} {time.monotonic() - started.pop(name, time.monotonic()):6.1f}s"
    if _EXCEPTION.match(line):
        state["in_exception"] = True
        return "  FAILED " + line.rstrip()
    event = _ERROR_EVENT.match(line)
    return f"  ERROR {event.group(1)}" if event else None


def create_backfill(env: dict[str, str], start: date, end: date) -> None:
    """`airflow backfill create` for [start, end] (re-running completed days); on failure,
    cancel whatever it left unfinished and raise with Airflow's own message."""
    try:
        airflow(
            env,
            "backfill",
            "create",
            "--dag-id",
            DAG_ID,
            "--from-date",
            logical_date_for(start),
            "--to-date",
            logical_date_for(end),
            "--max-active-runs",
            "1",
            "--reprocess-behavior",
            "completed",
            capture=True,
        )
    except AirflowCommandFailed:
        cancel_unfinished_backfills(env)
        raise


def _backfills(env: dict[str, str], action: str) -> list[int]:
    """`python -m xrec.orchestration.backfills <action> xrec_daily` in ``env``; the ids it prints."""
    done = subprocess.run(
        [sys.executable, "-m", "xrec.orchestration.backfills", action, DAG_ID], env=env, text=True, capture_output=True
    )
    if done.returncode:
        raise AirflowCommandFailed(f"{action} backfills failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # Airflow's own log lines come first


def cancel_unfinished_backfills(env: dict[str, str]) -> list[int]:
    """Cancel every unfinished backfill of xrec_daily (as the REST API's cancel does: pause it,
    fail its queued and running runs, mark it completed); returns their ids. A backfill left
    half-created or interrupted would otherwise block every later one (AlreadyRunningBackfill)."""
    ids = _backfills(env, "cancel")
    if ids:
        log.warning("cancelled unfinished backfill(s) %s of %s", ids, DAG_ID)
    return ids


def wait_for_backfills_completed(env: dict[str, str], timeout: float = 180) -> None:
    """Wait until the running scheduler has marked every backfill of xrec_daily completed.

    The scheduler records a backfill as completed only in a check it runs every 30 s, after its
    last run has finished; stopping the scheduler as soon as the runs are done left the Backfill
    unfinished (completed_at empty) until the next `xrec backfill` cancelled it.
    """
    deadline = time.monotonic() + timeout
    while unfinished := _backfills(env, "unfinished"):
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"backfill(s) {unfinished} of {DAG_ID} were not marked completed by "
                f"the scheduler within {timeout}s although their runs finished"
            )
        time.sleep(5)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


class Scheduler:
    """A real Airflow deployment on this machine, started and stopped by the caller."""

    def __init__(self, settings: Settings, topology: AirflowTopology = AirflowTopology()):
        self.settings = settings
        self.topology = topology
        self.processes: list[subprocess.Popen] = []
        self.env: dict[str, str] = {}

    def components(self) -> list[list[str]]:
        parts = [["api-server", "--port", str(self.topology.api_port)], ["scheduler"], ["dag-processor"], ["triggerer"]]
        if self.topology.executor == "CeleryExecutor":
            parts.append(["celery", "worker", "--concurrency", "1"])
        return parts

    def __enter__(self) -> Scheduler:
        # A SIGTERM (e.g. a CI time-out) must still stop every component we start.
        self._previous_sigterm = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        self.env = bootstrap(self.settings, self.topology)
        logs = self.settings.airflow_home / "process-logs"
        logs.mkdir(parents=True, exist_ok=True)
        airflow_bin = str(Path(sys.executable).parent / "airflow")
        try:
            # The api-server first: tasks call its execution API, and a backfill created before
            # the scheduler starts has tasks to run at once (under load the api-server took
            # longer to start than the scheduler took to launch the first task).
            for number, args in enumerate(self.components()):
                out = open(logs / f"{args[0]}{'-' + args[1] if args[0] == 'celery' else ''}.log", "ab")
                self.processes.append(
                    subprocess.Popen(
                        [airflow_bin, *args], env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                    )
                )
                if number == 0:
                    self._wait_for_api()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_for_api(self, timeout: float = 120) -> None:
        url = f"http://127.0.0.1:{self.topology.api_port}/api/v2/monitor/health"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(1)
        raise TimeoutError(
            f"Airflow api-server did not answer on {url} within {timeout}s; "
            f"see {self.settings.airflow_home / 'process-logs'}"
        )

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # Task runners are children in the same session; make sure none outlive us.
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.processes.clear()
        signal.signal(signal.SIGTERM, self._previous_sigterm)

    def runs(self) -> list[dict]:
        out = airflow(self.env, "dags", "list-runs", DAG_ID, "-o", "json", capture=True).stdout
        # Airflow logs warnings to stdout too: the JSON document is the line that is a list.
        listed = [line for line in out.splitlines() if line.startswith("[")]
        return json.loads(listed[-1]) if listed else []

    def wait_for_dag(self, timeout: float = 120) -> None:
        """Wait until the dag-processor has serialised xrec_daily."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            listed = airflow(self.env, "dags", "list", "-o", "json", capture=True).stdout
            if f'"{DAG_ID}"' in listed:
                return
            time.sleep(2)
        raise TimeoutError(f"{DAG_ID} was not parsed within {timeout}s")

    def trigger(self, run_date: date, run_id: str | None = None) -> str:
        run_id = run_id or f"manual__{run_date.isoformat()}"
        airflow(self.env, "dags", "trigger", DAG_ID, "-l", logical_date_for(run_date), "-r", run_id, capture=True)
        return run_id

    def wait_for_days(self, days: list[date], since: datetime, timeout: float = 1800) -> dict[date, str]:
        """Wait until every business day in ``days`` has a run that finished after ``since``
        (a backfill may re-run an existing run rather than add one); returns day -> state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            finished = {}
            for run in self.runs():
                if (
                    run["state"] in ("success", "failed")
                    and run["end_date"]
                    and datetime.fromisoformat(run["end_date"]) >= since
                ):
                    day = datetime.fromisoformat(run["logical_date"]).astimezone(BUSINESS_TZ).date()
                    finished[day] = run["state"]
            if set(days) <= set(finished):
                return {day: finished[day] for day in days}
            time.sleep(5)
        raise TimeoutError(f"runs of {DAG_ID} for {days} did not finish within {timeout}s")
