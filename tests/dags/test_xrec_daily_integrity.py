"""DAG integrity: the file imports cleanly and fast, with the tasks, pools and params expected."""

import subprocess
import sys

import pytest
from airflow.dag_processing.dagbag import DagBag

from xrec.config import PROJECT_ROOT
from xrec.orchestration import DUCKDB_POOL

DAGS = PROJECT_ROOT / "dags"


@pytest.fixture(scope="module")
def dag():
    bag = DagBag(dag_folder=str(DAGS), known_pools={DUCKDB_POOL, "default_pool"})
    assert bag.import_errors == {}
    return bag.dags["xrec_daily"]


def test_expected_tasks_in_order(dag):
    assert set(dag.task_ids) == {
        "plan_sources",
        "load_source.wait_for_drop",
        "load_source.ingest",
        "load_source.validate_raw",
        "erase",
        "purge_expired",
        "build_warehouse",
        "validate_marts",
        "train_and_evaluate",
        "model_is_promoted",
        "score",
        "validate_outputs",
        "publish",
        "report",
    }
    order = [t.task_id for t in dag.topological_sort()]  # raises on a cycle
    assert (
        order.index("load_source.validate_raw")
        < order.index("erase")
        < order.index("purge_expired")
        < order.index("build_warehouse")
    )
    assert order.index("validate_outputs") < order.index("publish") < order.index("report")


def test_every_duckdb_writer_uses_the_single_writer_pool(dag):
    writers = {
        "load_source.ingest",
        "load_source.validate_raw",
        "erase",
        "purge_expired",
        "build_warehouse",
        "validate_marts",
        "train_and_evaluate",
        "score",
        "validate_outputs",
        "publish",
        "report",
    }
    assert {t.task_id for t in dag.tasks if t.pool == DUCKDB_POOL} == writers
    assert dag.max_active_runs == 1


def test_params_and_published_assets(dag):
    assert set(dag.params) == {"run_date", "partners", "full_refresh"}
    assert dag.get_task("publish").outlets
    assert dag.get_task("load_source.ingest").retries == 2


def test_import_is_fast_and_side_effect_free(tmp_path):
    # As the dag-processor sees it: Airflow itself is already imported, the DAG file is not.
    code = (
        f"import sys,time,airflow.sdk; sys.path.insert(0, {str(DAGS)!r}); t=time.perf_counter(); "
        "import xrec_daily; print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert float(out.stdout.strip().splitlines()[-1]) < 2.0
    assert list(tmp_path.iterdir()) == []  # nothing written by importing


def test_the_dag_runs_the_daily_steps_in_their_one_order(dag):
    """xrec.daily.STEPS is the job's order (the benchmark runs it as is): each step's task comes
    after the previous one's, and the steps that need a promoted model wait for the gate."""
    from xrec.daily import STEPS

    def task_id(step):
        return f"load_source.{step.task_id}" if step.per_source else step.task_id

    for before, after in zip(STEPS, STEPS[1:]):
        downstream = dag.get_task(task_id(before)).get_flat_relative_ids(upstream=False)
        assert task_id(after) in downstream, (before.function, after.function)
    gated = dag.get_task("model_is_promoted").get_flat_relative_ids(upstream=False)
    assert {task_id(s) for s in STEPS if s.needs_promotion} <= gated
