"""xrec_daily: landing drops → raw → dbt marts → LightFM → gated, published recommendations.

Thin by design: every task calls one function of xrec.daily with the run's business date.
Importing this file is cheap (no pandas/duckdb/dbt at import time).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pendulum
from airflow.sdk import Param, PokeReturnValue, dag, get_current_context, task, task_group

from xrec import daily
from xrec.config import BUSINESS_TIME_ZONE, Settings
from xrec.orchestration import (
    DAG_SCHEDULE,
    DAG_START,
    DUCKDB_POOL,
    PUBLISHED_ASSETS,
    fail_fast,
    run_date_from_context,
)

settings = Settings.from_env()

# Retries are for transient I/O only: every step is wrapped in fail_fast, so a verdict
# (IngestError, a failed gate, a blocked or late delivery) fails its task without retrying.
TRANSIENT = {"retries": 2, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True}
# The sensor decides lateness itself (naming source, date and marker); Airflow's own timeout
# is only a backstop past it.
SENSOR_BACKSTOP_MINUTES = 30


def _run_date():
    return run_date_from_context(get_current_context())


@dag(
    dag_id="xrec_daily",
    schedule=DAG_SCHEDULE,
    start_date=pendulum.datetime(DAG_START.year, DAG_START.month, DAG_START.day, tz=BUSINESS_TIME_ZONE),
    catchup=False,
    max_active_runs=1,  # one DuckDB writer: concurrent runs would only queue on the pool
    default_args={"owner": "xrec", "retries": 0},
    params={
        "run_date": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Business date override (YYYY-MM-DD); default: logical date",
        ),
        "partners": Param([], type="array", description="Restrict to these partners; [] = all"),
        "full_refresh": Param(False, type="boolean", description="dbt --full-refresh"),
    },
    tags=["xrec"],
    doc_md=__doc__,
)
def xrec_daily():
    @task
    @fail_fast
    def plan_sources() -> list[str]:
        return daily.plan_sources(settings, get_current_context()["params"]["partners"])

    @task_group
    def load_source(source: str):
        @task.sensor(
            poke_interval=60,
            timeout=(settings.wait_timeout_minutes + SENSOR_BACKSTOP_MINUTES) * 60,
            mode="reschedule",
        )
        @fail_fast
        def wait_for_drop(source: str) -> PokeReturnValue:
            dag_run = get_current_context()["dag_run"]
            since = dag_run.start_date or datetime.now(UTC)
            state = daily.wait_for_drop(settings, source, _run_date(), since)
            return PokeReturnValue(is_done=state is not None, xcom_value=state)

        @task(pool=DUCKDB_POOL, **TRANSIENT)
        @fail_fast
        def ingest(source: str, waited: dict) -> dict:
            return {**daily.ingest(settings, source, _run_date()), "late": waited.get("reason")}

        @task(pool=DUCKDB_POOL)
        @fail_fast
        def validate_raw(loaded: dict) -> dict:
            return daily.gate_raw(settings, loaded["source"], _run_date(), loaded["late"])

        return validate_raw(ingest(source, wait_for_drop(source)))

    @task(pool=DUCKDB_POOL)
    def erase() -> dict:
        return daily.erase(settings, _run_date())

    @task(pool=DUCKDB_POOL)
    def purge_expired() -> dict:
        return daily.purge_expired(settings, _run_date())

    @task(pool=DUCKDB_POOL, **TRANSIENT)
    @fail_fast
    def build_warehouse(gate_results: list[dict]) -> dict:
        full_refresh = get_current_context()["params"]["full_refresh"]
        return daily.build_warehouse(settings, _run_date(), list(gate_results), full_refresh)

    @task(pool=DUCKDB_POOL)
    @fail_fast
    def validate_marts() -> dict:
        return daily.gate_marts(settings, _run_date())

    @task(pool=DUCKDB_POOL)
    @fail_fast
    def train_and_evaluate() -> dict:
        return daily.train_and_evaluate(settings, _run_date())

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def model_is_promoted(model_run: dict) -> bool:
        """A model that failed the promotion gate publishes nothing; yesterday's stays current."""
        return model_run["is_promoted"]

    @task(pool=DUCKDB_POOL)
    def score() -> int:
        return daily.score(settings, _run_date())

    @task(pool=DUCKDB_POOL)
    @fail_fast
    def validate_outputs() -> dict:
        return daily.gate_outputs(settings, _run_date())

    @task(pool=DUCKDB_POOL, outlets=PUBLISHED_ASSETS, **TRANSIENT)
    @fail_fast
    def publish() -> dict:
        from airflow.exceptions import AirflowFailException

        from xrec.publish.exports import ExportsFailed

        try:
            return daily.publish(settings, _run_date())
        except ExportsFailed as failed:  # a missing key: retrying cannot help
            raise AirflowFailException(str(failed)) from failed

    @task(pool=DUCKDB_POOL, trigger_rule="none_failed")
    def report() -> str:
        return daily.report(settings, _run_date())

    gates = load_source.expand(source=plan_sources())
    erased = erase()
    expired = purge_expired()
    warehouse = build_warehouse(gates)
    gates >> erased >> expired >> warehouse
    marts_ok = validate_marts()
    model_run = train_and_evaluate()
    promoted = model_is_promoted(model_run)
    scored = score()
    outputs_ok = validate_outputs()
    published = publish()
    warehouse >> marts_ok >> model_run
    promoted >> scored >> outputs_ok >> published >> report()


xrec_daily()
