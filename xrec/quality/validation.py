"""Run suites with Great Expectations on pandas frames and build the Data Docs site.

The GX project is file-backed under ``<artifacts>/gx`` (suites, validation definitions and
validation results) with one Data Docs site, ``xrec``, written to ``<artifacts>/data_docs``.
Frames are validated through a pandas datasource, not GX's SQL datasource, which returns empty
metrics on DuckDB. A file lock serialises GX project writes across parallel gate tasks.

Telemetry: GX reads GX_ANALYTICS_ENABLED when it is imported, so this module sets it to False
(unless the environment already says otherwise) before the import.
"""

from __future__ import annotations

import fcntl
import logging
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import great_expectations as gx  # noqa: E402
import pandas as pd  # noqa: E402
from great_expectations.core.run_identifier import RunIdentifier  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402
from great_expectations.data_context.types.resource_identifiers import (  # noqa: E402
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.datasource.fluent import PandasDatasource  # noqa: E402
from great_expectations.expectations.expectation_configuration import (  # noqa: E402
    ExpectationConfiguration,
)

from xrec.quality import data_docs  # noqa: E402
from xrec.quality.results import SAMPLE_SIZE, Failure  # noqa: E402
from xrec.quality.suites import label, severity  # noqa: E402

log = logging.getLogger(__name__)
# GX logs its project bookkeeping (config saves, datasource dumps) at INFO; results are ours to log.
logging.getLogger("great_expectations").setLevel(logging.WARNING)

DATASOURCE = "xrec"
SITE = "xrec"
# Validation results the Data Docs index lists, newest first (about a week of daily runs); older
# results keep their pages.
INDEX_RESULTS = 300


@dataclass(frozen=True)
class Outcome:
    """What one suite run on one frame found."""

    evaluated: int
    failures: tuple[Failure, ...]


class Validator:
    """A GX file context under ``gx_root`` whose Data Docs site is ``docs_dir``."""

    def __init__(self, gx_root: Path, docs_dir: Path) -> None:
        gx_root.mkdir(parents=True, exist_ok=True)
        self._lock_path = gx_root / ".lock"
        self._docs_dir = docs_dir
        # What this gate call validated: the only pages build_docs renders.
        self._suites: list[ExpectationSuiteIdentifier] = []
        self._results: list[ValidationResultIdentifier] = []
        with self._locked():
            is_new = not (gx_root / "gx" / "great_expectations.yml").exists()
            self._context = gx.get_context(mode="file", project_root_dir=str(gx_root))
            if is_new:
                # Per-metric tqdm bars would flood the Airflow task log.
                self._context.variables.progress_bars = ProgressBarsConfig(globally=False)
                self._context.variables.save()
            if SITE not in self._context.get_site_names():
                # the site a full rebuild (context.build_data_docs()) renders, every result
                self._context.add_data_docs_site(
                    SITE,
                    {
                        "class_name": "SiteBuilder",
                        "store_backend": {
                            "class_name": "TupleFilesystemStoreBackend",
                            "base_directory": str(docs_dir),
                        },
                        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                    },
                )
            # Got, not add_or_update'd: that rewrote great_expectations.yml on every gate call,
            # with new ids for the assets.
            if DATASOURCE in self._context.data_sources.all():
                self._datasource = cast(PandasDatasource, self._context.data_sources.get(DATASOURCE))
            else:
                self._datasource = self._context.data_sources.add_pandas(DATASOURCE)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self._lock_path, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def validate(
        self,
        *,
        suite_name: str,
        gx_suite_name: str,
        asset_name: str,
        frame: pd.DataFrame,
        expectations: Sequence[Mapping[str, Any]],
        parameters: Mapping[str, Any],
        key_columns: Sequence[str],
        run_name: str,
    ) -> Outcome:
        """Validate ``frame`` against ``expectations`` and store the result for Data Docs.

        ``asset_name`` is one per table (the project config stays the same size whatever the
        history); ``run_name`` says which run_date, and chunk, the result is of.
        """
        # Built whole, not by add_expectation: on a suite already in the store each of those
        # rewrites the stored suite (3 s per chunk of the output gate, 25 expectations).
        suite = gx.ExpectationSuite(
            name=gx_suite_name,
            expectations=[
                ExpectationConfiguration(
                    type=exp["type"], kwargs=dict(exp.get("kwargs", {})), meta=dict(exp.get("meta", {}))
                ).to_domain_obj()
                for exp in expectations
            ],
        )
        result_format: dict[str, Any] = {
            "result_format": "SUMMARY",
            "partial_unexpected_count": SAMPLE_SIZE,
        }
        index_columns = [c for c in key_columns if c in frame.columns]
        if index_columns:
            result_format["unexpected_index_column_names"] = index_columns
        with self._locked():
            suite = self._context.suites.add_or_update(suite)
            asset = (
                # get_asset ties the asset to the datasource (a loaded datasource's .assets lack
                # the context a batch needs)
                self._datasource.get_asset(asset_name)
                if asset_name in self._datasource.get_asset_names()
                else self._datasource.add_dataframe_asset(asset_name)
            )
            batch = next((b for b in asset.batch_definitions if b.name == "whole"), None)
            batch = batch or asset.add_batch_definition_whole_dataframe("whole")
            definition = self._context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=f"{gx_suite_name}@{asset_name}", data=batch, suite=suite)
            )
            run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(UTC))
            result = definition.run(
                batch_parameters={"dataframe": frame},
                expectation_parameters=dict(parameters),
                result_format=result_format,
                run_id=run_id,
            )
        # The key ValidationDefinition.run stored the result under (listing the store to find it
        # reads every result ever stored).
        suite_id = ExpectationSuiteIdentifier(name=gx_suite_name)
        self._suites.append(suite_id)
        self._results.append(ValidationResultIdentifier(suite_id, run_id, result.batch_id))
        failures = tuple(_failure(suite_name, r) for r in result.results if not r.success)
        return Outcome(evaluated=len(result.results), failures=failures)

    def build_docs(self) -> Path:
        """Render the suites and validation results of this gate call, and an index of the newest
        INDEX_RESULTS results; pages of earlier results stay as they were built."""
        with self._locked():
            data_docs.build(self._context, SITE, self._docs_dir, [*self._suites, *self._results], INDEX_RESULTS)
        log.info("data docs: %d validation result(s) rendered to %s", len(self._results), self._docs_dir)
        return self._docs_dir / "index.html"


def _failure(suite_name: str, result: Any) -> Failure:
    config = result.expectation_config
    exp = {"type": config.type, "kwargs": config.kwargs, "meta": config.meta or {}}
    detail = result.result or {}
    exception = (result.exception_info or {}).get("exception_message")
    if exception:
        sample: tuple[str, ...] = (f"error: {exception[:300]}",)
    elif "partial_unexpected_index_list" in detail and detail["partial_unexpected_index_list"]:
        sample = tuple(_row(r) for r in detail["partial_unexpected_index_list"][:SAMPLE_SIZE])
    elif detail.get("partial_unexpected_list"):
        sample = tuple(_value(v) for v in detail["partial_unexpected_list"][:SAMPLE_SIZE])
    else:
        sample = _observed(detail)
    return Failure(
        suite=suite_name,
        expectation=label(exp),
        severity=severity(exp),
        unexpected_count=detail.get("unexpected_count"),
        sample=sample,
    )


def _observed(detail: Mapping[str, Any]) -> tuple[str, ...]:
    """Table-level expectations report an observed value (row count, missing columns)."""
    missing = detail.get("details", {}).get("mismatched", {}).get("missing")
    if missing:
        return (f"missing columns: {', '.join(map(str, missing))}",)
    if "observed_value" in detail:
        return (f"observed: {_value(detail['observed_value'])}",)
    return ()


def _row(row: Any) -> str:
    if isinstance(row, Mapping):
        return ", ".join(f"{k}={_value(v)}" for k, v in row.items())
    return f"row {row}"


def _value(value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if hasattr(value, "item"):
        value = value.item()
    return str(value)
