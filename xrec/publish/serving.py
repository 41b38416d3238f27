"""The serving bundle: everything `xrec serve` loads, written when a run is published.

The API must never open the warehouse (DuckDB has one writer, and the pipeline is it), so the
publish step, which holds the writer connection anyway, copies what the published model needs
beside it: the ML marts as of run_date (persons, recipients, items with titles, interactions,
features), the published lists with their reasons as the daily scoring rendered them (the
server answers lookups from them, see xrec.serve.lists) and the model run (version, artifact, metrics).
Each publication is a fresh folder `serving/<run_date>-<n>/`; `serving/current.json` then
points at it (swapped atomically), which is what a running server polls. The previous folder is
kept so a server still answering from it is never pulled from under its feet; older ones go.
Erasure follows: a person deleted before a publish is absent from the next bundle, and the
bundles written before it go (`retire_bundles`): the older ones at once, the current one when
the next publish replaces it.
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from xrec.catalog import ML_MARTS, MODEL_RUNS
from xrec.config import Settings
from xrec.publish.atomic import replacing
from xrec.publish.catalog import CROSS_RECOMMENDATIONS, exists
from xrec.serve.lists import COLUMNS as LIST_COLUMNS
from xrec.spans import spanned
from xrec.steps.marts import MART_SQL

log = logging.getLogger(__name__)

KEEP_BUNDLES = 2  # the current one and the one a server may still be answering from
ERASED_MARKER = ".erased"  # in a bundle written before an erasure: never kept as the fallback


def serving_root(settings: Settings) -> Path:
    return settings.artifacts / "serving"


def pointer_path(settings: Settings) -> Path:
    """The published pointer: JSON naming the current bundle folder."""
    return serving_root(settings) / "current.json"


@spanned("serving_bundle")
def write_serving_bundle(con: duckdb.DuckDBPyConnection, settings: Settings, run_date: date) -> Path | None:
    """Write run_date's bundle and point `current.json` at it; None when run_date has no
    published model run or no ML marts (nothing changes then)."""
    missing = [name for name in MART_SQL if not exists(con, ML_MARTS[name].relation)]
    if missing:
        log.warning("serving bundle %s: ML marts %s missing; current bundle unchanged", run_date, missing)
        return None
    run = con.execute(
        "select model_version, artifact_path, metrics, baseline_metrics, primary_metric, primary_value, "
        f"baseline_value, ranker, params from {MODEL_RUNS.relation} where run_date = ? and is_published "
        "order by model_version limit 1",
        [run_date],
    ).fetchone()
    if run is None:
        log.info("serving bundle %s: no published model run; current bundle unchanged", run_date)
        return None
    root = serving_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    number = 1 + max((int(p.name.rsplit("-", 1)[1]) for p in root.glob(f"{run_date}-*") if p.is_dir()), default=0)
    folder = root / f"{run_date}-{number}"
    tmp = root / f".{folder.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name, sql in MART_SQL.items():
            _copy(con, sql, [], tmp / f"{name}.parquet")
        # No sort: the partition holds the score's order, each recipient's list together and in
        # rank order, which is all the API's loader needs (it checks, and refuses a bundle without).
        _copy(
            con,
            f"select {', '.join(LIST_COLUMNS)} from {CROSS_RECOMMENDATIONS.relation} where run_date = ?",
            [run_date],
            tmp / "recommendations.parquet",
        )
        info = {
            "model_version": run[0],
            "artifact_path": run[1],
            "run_date": run_date.isoformat(),
            "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "metrics": json.loads(run[2] or "{}"),
            "baseline_metrics": json.loads(run[3] or "{}"),
            "primary_metric": run[4],
            "primary_value": run[5],
            "baseline_value": run[6],
            "ranker": run[7],
            "params": json.loads(run[8] or "{}"),
        }
        (tmp / "model.json").write_text(json.dumps(info, indent=2, sort_keys=True))
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with replacing(pointer_path(settings)) as pointer:
        pointer.write_text(
            json.dumps({"bundle": folder.name, "model_version": run[0], "run_date": run_date.isoformat()})
        )
    _prune(root, folder)
    log.info("serving bundle %s: %s (model %s)", run_date, folder, run[0])
    return folder


def _copy(con: duckdb.DuckDBPyConnection, sql: str, params: list, path: Path) -> None:
    quoted = str(path).replace("'", "''")
    con.execute(f"copy ({sql}) to '{quoted}' (format parquet, compression zstd)", params)


def _bundles(root: Path) -> list[Path]:
    """The bundle folders, newest first."""
    folders = (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.exists() else ()
    return sorted(folders, key=lambda p: p.stat().st_mtime, reverse=True)


def _prune(root: Path, current: Path) -> None:
    older = [p for p in _bundles(root) if p != current]
    for old in [p for p in older if (p / ERASED_MARKER).exists()] + older[KEEP_BUNDLES - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


def retire_bundles(settings: Settings) -> int:
    """After an erasure: delete every bundle but the current one, and mark the current one to be
    deleted as soon as a publish replaces it (instead of being kept as the fallback). Its marts
    are not edited in place: removing a person's rows would shift the person rows a collaborative
    model's identity features are aligned with. Returns how many bundles hold erased persons now
    (0 or 1: the current, until the next publish)."""
    current = _current_folder(settings)
    for bundle in _bundles(serving_root(settings)):
        if bundle == current:
            (bundle / ERASED_MARKER).touch()
        else:
            shutil.rmtree(bundle, ignore_errors=True)
    return int(current is not None and current.exists())


def _current_folder(settings: Settings) -> Path | None:
    pointer = pointer_path(settings)
    if not pointer.exists():
        return None
    return serving_root(settings) / json.loads(pointer.read_text())["bundle"]
