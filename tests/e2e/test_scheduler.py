"""A real Airflow deployment (api-server, scheduler, dag-processor, triggerer) on this machine's
PostgreSQL, as docker-compose.yml runs it: a triggered run with CeleryExecutor on Redis.
(A backfill through a real scheduler with LocalExecutor, compared with the daily runs of the
same days, is tests/e2e/test_embedded_backfill.py.)"""

from datetime import UTC, datetime

import pytest
import redis

from tests.e2e.conftest import LAST_DAY, free_port
from xrec.config import Settings
from xrec.orchestration.airflow_home import AirflowTopology
from xrec.orchestration.runner import Scheduler

pytestmark = pytest.mark.e2e


def _scheduler(xrec, database: str, **topology) -> Scheduler:
    """A deployment on its own metadata DB and api-server port, so nothing else on the machine
    (an embedded `xrec backfill`, another test run) can answer its tasks."""
    settings = Settings.from_env(xrec.env)
    dsn = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}"
    return Scheduler(
        settings, AirflowTopology(metadata_dsn=dsn, use_job_schedule=False, api_port=free_port(), **topology)
    )


def test_triggered_run_succeeds_under_celery(deployment, pg_database):
    xrec = deployment("celery")
    broker = "redis://127.0.0.1:6379/7"
    redis.Redis.from_url(broker).flushdb()  # no queued tasks left from an earlier session
    with _scheduler(xrec, pg_database("xrec_airflow"), executor="CeleryExecutor", broker_url=broker) as scheduler:
        scheduler.wait_for_dag()
        since = datetime.now(UTC)
        scheduler.trigger(LAST_DAY)
        states = scheduler.wait_for_days([LAST_DAY], since, timeout=1800)
    assert states == {LAST_DAY: "success"}
    assert xrec.query("select count(distinct partner) from cross_recommendations_current") == [(4,)]
