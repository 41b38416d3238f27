"""Model runs and artifacts: the `model_runs` table and settings.artifacts/models/<version>/."""
from __future__ import annotations

import hashlib
import json
import logging
import pickle
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from lightfm import LightFM

from ml.dataset import Marts
from xrec.config import Settings
from xrec.warehouse import connect

log = logging.getLogger(__name__)

MODEL_RUNS_DDL = """
create table if not exists main.model_runs (
    model_version varchar, run_date date, trained_at timestamp,
    data_window_start date, data_window_end date,
    params json, metrics json, baseline_metrics json,
    primary_metric varchar, primary_value double, baseline_value double, previous_value double,
    is_published boolean, decision_reason varchar, artifact_path varchar,
    is_promoted boolean
)"""


@dataclass(frozen=True)
class ModelRun:
    """One row of model_runs. is_promoted = passed the promotion gate; is_published is set by
    xrec.publish after the output gate."""

    model_version: str
    run_date: date
    trained_at: datetime
    data_window_start: date
    data_window_end: date
    params: dict
    metrics: dict
    baseline_metrics: dict
    primary_metric: str
    primary_value: float
    baseline_value: float
    previous_value: float | None
    is_published: bool
    decision_reason: str
    artifact_path: str
    is_promoted: bool


def data_fingerprint(marts: Marts) -> str:
    """A hash of the mart contents, independent of row order."""
    digest = hashlib.sha256()
    for name in ("persons", "recipients", "items", "interactions", "person_features", "item_features"):
        frame = getattr(marts, name)
        row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        digest.update(name.encode())
        digest.update(pd.Series(row_hashes).sort_values().to_numpy().tobytes())
    return digest.hexdigest()


def model_version(run_date: date, fingerprint: str, params: dict) -> str:
    """run_date + a short hash of data and parameters: re-running a day reuses the version."""
    key = json.dumps({"data": fingerprint, "params": params}, sort_keys=True)
    return f"{run_date:%Y%m%d}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def save_artifact(
    settings: Settings, version: str, model: LightFM, id_maps: dict, metrics: dict
) -> Path:
    """Write model.pkl, id_maps.json and metrics.json under artifacts/models/<version>/."""
    folder = settings.artifacts / "models" / version
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "model.pkl", "wb") as out:
        pickle.dump(model, out, protocol=pickle.HIGHEST_PROTOCOL)
    (folder / "id_maps.json").write_text(json.dumps(id_maps))
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
    log.info("artifact written: %s", folder)
    return folder


def load_artifact(path: str | Path) -> tuple[LightFM, dict]:
    """(model, id_maps) of an artifact folder."""
    folder = Path(path)
    with open(folder / "model.pkl", "rb") as source:
        model = pickle.load(source)
    return model, json.loads((folder / "id_maps.json").read_text())


def _rows(con, where: str, args: list) -> list[ModelRun]:
    con.execute(MODEL_RUNS_DDL)
    names = [f.name for f in fields(ModelRun)]
    frame = con.execute(f"select {', '.join(names)} from main.model_runs where {where}", args).df()
    runs = []
    for record in frame.to_dict("records"):
        for column in ("params", "metrics", "baseline_metrics"):
            record[column] = json.loads(record[column]) if record[column] else {}
        for column in ("run_date", "data_window_start", "data_window_end"):
            record[column] = pd.Timestamp(record[column]).date()
        record["trained_at"] = pd.Timestamp(record["trained_at"]).to_pydatetime()
        record["previous_value"] = None if pd.isna(record["previous_value"]) else record["previous_value"]
        runs.append(ModelRun(**record))
    return runs


def run_for(settings: Settings, run_date: date) -> ModelRun | None:
    """The model run recorded for `run_date`, if any."""
    with connect(settings) as con:
        runs = _rows(con, "run_date = ?", [run_date])
    return runs[0] if runs else None


def last_published(settings: Settings, before: date) -> ModelRun | None:
    """The latest published run with run_date before `before` (what today's model must match)."""
    with connect(settings) as con:
        runs = _rows(
            con, "is_published and run_date < ? order by run_date desc, trained_at desc limit 1", [before]
        )
    return runs[0] if runs else None


def record_run(settings: Settings, run: ModelRun) -> None:
    """Replace the model_runs row of run.run_date (one transaction)."""
    row = asdict(run)
    for column in ("params", "metrics", "baseline_metrics"):
        row[column] = json.dumps(row[column], sort_keys=True)
    names = list(row)
    with connect(settings) as con:
        con.execute(MODEL_RUNS_DDL)
        con.execute("begin transaction")
        con.execute("delete from main.model_runs where run_date = ?", [run.run_date])
        con.execute(
            f"insert into main.model_runs ({', '.join(names)}) values ({', '.join('?' * len(names))})",
            list(row.values()),
        )
        con.execute("commit")
    log.info(
        "model_runs: %s for %s recorded (promoted=%s: %s)",
        run.model_version, run.run_date, run.is_promoted, run.decision_reason,
    )
