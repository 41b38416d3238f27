"""The Airflow environment xrec runs in: the embedded default (SQLite + LocalExecutor under
`.airflow/`) or any metadata DB / executor the caller passes (the scheduler tests use the
machine's PostgreSQL, and Redis + Celery)."""

from __future__ import annotations

import configparser
import logging
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from xrec.config import PROJECT_ROOT, Settings
from xrec.orchestration import DUCKDB_POOL

log = logging.getLogger(__name__)

# Usage telemetry off everywhere (a data team's privacy rule; offline machines wait on it).
TELEMETRY_OFF = {
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "GX_ANALYTICS_ENABLED": "False",
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "true",
}


@dataclass(frozen=True)
class AirflowTopology:
    """Where Airflow keeps its state and how it executes tasks."""

    metadata_dsn: str | None = None  # None: SQLite under AIRFLOW_HOME
    executor: str = "LocalExecutor"
    broker_url: str | None = None  # Celery only
    api_port: int = 8780  # not 8080 (often taken) nor 8793 (a Celery worker's log server)
    # False: the scheduler runs only triggered runs and backfills, no cron runs (the embedded
    # backfill and the tests, where "the latest scheduled day" has no drop to wait for).
    use_job_schedule: bool = True


def _jwt_secret(home: Path) -> str:
    """A per-installation secret shared by api-server and workers; generated, never committed."""
    path = home / "jwt_secret"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def airflow_env(settings: Settings, topology: AirflowTopology = AirflowTopology()) -> dict[str, str]:
    """The complete environment for an `airflow` subprocess running xrec."""
    home = settings.airflow_home
    dsn = topology.metadata_dsn or f"sqlite:///{home / 'airflow.db'}"
    env = {
        **os.environ,
        **settings.env(),
        **TELEMETRY_OFF,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTOR": topology.executor,
        # LocalExecutor forks this many workers; the default 32 only costs memory on 2 cores
        # where the DuckDB pool serialises the work anyway.
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": dsn,
        "AIRFLOW__API__PORT": str(topology.api_port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{topology.api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": _jwt_secret(home),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(topology.use_job_schedule),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }
    if topology.broker_url:
        env["AIRFLOW__CELERY__BROKER_URL"] = topology.broker_url
        env["AIRFLOW__CELERY__RESULT_BACKEND"] = "db+" + dsn.replace("+psycopg2", "")
    return env


class AirflowCommandFailed(RuntimeError):
    """An `airflow` CLI command failed; the message carries Airflow's own error output."""


def airflow(env: dict[str, str], *args: str, capture: bool = False) -> subprocess.CompletedProcess:
    """Run one `airflow` CLI command in ``env``; raises AirflowCommandFailed (with Airflow's
    error lines when the output was captured) on failure."""
    cmd = [str(Path(sys.executable).parent / "airflow"), *args]
    log.info("$ airflow %s", " ".join(args))
    done = subprocess.run(cmd, env=env, text=True, capture_output=capture)
    if done.returncode:
        output = ((done.stderr or "") + (done.stdout or "")).strip().splitlines()
        # Airflow ends with the exception line; the lines before it are mostly log noise.
        detail = "\n".join(output[-15:]) if output else "(see the output above)"
        raise AirflowCommandFailed(f"`airflow {' '.join(args)}` failed (exit {done.returncode}):\n{detail}")
    return done


def write_airflow_cfg(env: dict[str, str]) -> Path:
    """Write the settings of ``env`` into ``$AIRFLOW_HOME/airflow.cfg``, so the plain Airflow
    CLI and UI (``AIRFLOW_HOME=.airflow airflow dags list``) see what xrec runs: the DAGs
    folder, the metadata DB, the executor, the api-server port and secret."""
    path = Path(env["AIRFLOW_HOME"]) / "airflow.cfg"
    config = configparser.RawConfigParser()
    config.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive in airflow.cfg
    if path.exists():
        config.read(path)
    for name, value in env.items():
        if name.startswith("AIRFLOW__") and name.count("__") == 2:
            section, key = name[len("AIRFLOW__") :].split("__")
            section, key = section.lower(), key.lower()
            if not config.has_section(section):
                config.add_section(section)
            config.set(section, key, value)
    with path.open("w") as handle:
        config.write(handle)
    path.chmod(0o600)  # holds the api-server's JWT secret
    return path


def bootstrap(settings: Settings, topology: AirflowTopology = AirflowTopology()) -> dict[str, str]:
    """Create/upgrade the metadata DB and the DuckDB writer pool; returns the environment."""
    env = airflow_env(settings, topology)
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    airflow(env, "db", "migrate", capture=True)
    write_airflow_cfg(env)
    airflow(env, "pools", "set", DUCKDB_POOL, "1", "DuckDB allows one writing process", capture=True)
    return env
