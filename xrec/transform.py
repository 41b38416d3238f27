"""Build the dbt warehouse (staging -> intermediate -> marts) in-process for one business date.

dbt runs through ``dbt.cli.main.dbtRunner`` with the project and profiles in
``settings.dbt_project_dir``; dbt's target/ and logs/ go under ``settings.artifacts / "dbt"`` so
that runs on different warehouses (tests, backfills) never share parse state.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from xrec.config import PLATFORM, Settings

log = logging.getLogger(__name__)

FAILED_STATUSES = {"error", "fail", "runtime error"}
# Models only compile with a run_date; documentation does not depend on which one.
DOCS_RUN_DATE = date(2000, 1, 1)


@dataclass(frozen=True)
class NodeFailure:
    unique_id: str
    status: str
    message: str


class DbtBuildFailed(RuntimeError):
    """dbt could not build the warehouse: names every failed node and its message."""

    def __init__(self, command: str, run_date: date, failures: list[NodeFailure]):
        self.failures = failures
        lines = "\n".join(f"  - {f.unique_id} [{f.status}]: {f.message}" for f in failures)
        super().__init__(
            f"dbt {command} for run_date {run_date.isoformat()} failed on {len(failures)} node(s):\n"
            f"{lines}\nFix the data or model named above, then re-run the dbt step for this date."
        )


def dbt_build(
    settings: Settings,
    run_date: date,
    sources: Iterable[str] | None = None,
    full_refresh: bool = False,
) -> None:
    """Seed and build every model and test as of ``run_date``.

    ``sources`` lists the sources whose raw gate passed (default: all of ``settings.sources``);
    a partner left out, or not in XREC_PARTNERS, is dropped from the partners var, and its items
    model and source tests are excluded, so the marts carry no data from it in this run. The
    platform cannot be left out; a configured partner the project does not model is an error.
    """
    allowed = set(settings.sources if sources is None else sources)
    if PLATFORM not in allowed:
        raise ValueError("dbt_build needs the platform source; the raw gate excluded it")
    modelled = modelled_partners(settings.dbt_project_dir)
    unknown = [p for p in settings.partners if p not in modelled]
    if unknown:
        raise ValueError(
            f"XREC_PARTNERS names {', '.join(unknown)}, which the dbt project has no sources for "
            f"(it has {', '.join(modelled)}): add a partner with xrec_tools/partner_sources.py"
        )
    partners = [p for p in settings.partners if p in allowed]
    gate_failed = [p for p in settings.partners if p not in allowed]
    if gate_failed:
        log.warning("dbt build for %s without partner(s) %s", run_date, ", ".join(gate_failed))
    # Every modelled partner not built, configured or not: their raw tables may not exist.
    excluded = [p for p in modelled if p not in partners]
    dbt_vars = {"run_date": run_date.isoformat(), "partners": partners}
    common = ["--vars", _vars_arg(dbt_vars)]
    refresh = ["--full-refresh"] if full_refresh else []
    exclude = ["--exclude", *(f"source:{p}+" for p in excluded)] if excluded else []

    _invoke(settings, run_date, ["seed", *common, *refresh])
    _invoke(settings, run_date, ["build", *common, *refresh, "--exclude-resource-type", "seed", *exclude])


def modelled_partners(project_dir: Path) -> tuple[str, ...]:
    """The partners the dbt project has sources for: models/staging/<partner>/_<partner>__sources.yml,
    as xrec_tools/partner_sources.py writes them (the platform's own sources aside)."""
    staging = project_dir / "models" / "staging"
    return tuple(
        sorted(
            folder.name
            for folder in staging.iterdir()
            if folder.name != PLATFORM and (folder / f"_{folder.name}__sources.yml").is_file()
        )
    )


def dbt_docs(settings: Settings, run_date: date = DOCS_RUN_DATE) -> Path:
    """Generate the dbt docs site offline (catalog from the warehouse); returns its index.html."""
    _invoke(settings, run_date, ["docs", "generate", "--vars", _vars_arg({"run_date": run_date.isoformat()})])
    index = _dbt_dir(settings) / "target" / "index.html"
    log.info("dbt docs written to %s", index)
    return index


def _vars_arg(values: dict) -> str:
    # JSON is valid YAML, which is what --vars expects
    return json.dumps(values)


def _dbt_dir(settings: Settings) -> Path:
    return settings.artifacts / "dbt"


@contextmanager
def _dbt_environment(settings: Settings) -> Iterator[None]:
    """dbt reads configuration through env_var(): expose the settings for the call, then restore."""
    env = {**settings.env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    previous = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _log_node(event) -> None:
    """dbtRunner callback: one log line per finished node."""
    if event.info.name != "NodeFinished":
        return
    node = event.data.node_info
    if node.node_status in FAILED_STATUSES:
        level = logging.WARNING
    elif node.resource_type == "test" and node.node_status == "pass":
        level = logging.DEBUG  # hundreds of passing tests would drown the model progress
    else:
        level = logging.INFO
    log.log(level, "dbt %s %s: %s", node.resource_type, node.node_status, node.unique_id)


def _release_warehouse() -> None:
    """Close dbt-duckdb's process-wide DuckDB instance so later steps can open the warehouse.

    dbt-duckdb keeps one open instance in a class attribute after dbtRunner returns; its own
    close_all_connections only drops the reference, so the file would stay open (and locked
    with dbt's configuration) until garbage collection.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager  # see _invoke

    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()


def _invoke(settings: Settings, run_date: date, args: list[str]) -> None:
    # imported here: dbt takes seconds to import, and DAG files import this module
    from dbt.cli.main import dbtRunner

    project_dir = str(settings.dbt_project_dir)
    dbt_dir = _dbt_dir(settings)
    cli_args = [
        *args,
        "--project-dir",
        project_dir,
        "--profiles-dir",
        project_dir,
        "--target-path",
        str(dbt_dir / "target"),
        "--log-path",
        str(dbt_dir / "logs"),
        "--quiet",
    ]
    command = " ".join(args[:2] if args[0] == "docs" else args[:1])
    log.info("dbt %s for run_date %s (warehouse %s)", command, run_date, settings.warehouse)
    with _dbt_environment(settings):
        try:
            result = dbtRunner(callbacks=[_log_node]).invoke(cli_args)
        finally:
            _release_warehouse()
    nodes = list(getattr(result.result, "results", None) or [])
    failures = [
        NodeFailure(r.node.unique_id, str(r.status), r.message or "") for r in nodes if str(r.status) in FAILED_STATUSES
    ]
    if result.exception is not None:
        failures.append(NodeFailure("dbt", "error", str(result.exception)))
    if failures or not result.success:
        raise DbtBuildFailed(command, run_date, failures or [NodeFailure("dbt", "error", "see dbt log")])
    warned = [r.node.unique_id for r in nodes if str(r.status) == "warn"]
    if warned:
        log.warning("dbt %s for run_date %s: %d warning(s): %s", command, run_date, len(warned), ", ".join(warned))
    if nodes:
        log.info("dbt %s for run_date %s: %d node(s) done", command, run_date, len(nodes))
