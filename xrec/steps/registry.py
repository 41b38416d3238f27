"""Model runs, selection candidates and artifacts: the `model_runs` and `model_candidates`
tables and settings.artifacts/models/<version>/.

How to load the published ranker (what a scorer outside the daily job, e.g. the serving API,
needs): `load_published_ranker(settings)` returns the last published run, its ModelConfig
(representation decides how person/item rows are built: `ml.dataset.build_dataset(marts,
interactions, config.representation)`), the LightFM model (None when the champion is
popularity) and the id/feature maps the model was trained with (rebuild the dataset from the
same marts and check `dataset.id_maps() == ranker.id_maps`, then `ml.embeddings.model_embeddings`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
from lightfm import LightFM

from ml.config import LIGHTFM, ModelConfig
from ml.dataset import Marts
from ml.select import Selection
from xrec.catalog import MODEL_CANDIDATES, MODEL_RUNS
from xrec.config import Settings
from xrec.warehouse import connect

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelRun:
    """One row of model_runs. is_promoted = passed the promotion gate; is_published is set by
    xrec.publish after the output gate. primary_value is the champion's (`ranker`'s) value on
    the test split, model_value the chosen LightFM configuration's, baseline_value popularity's."""

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
    ranker: str
    model_value: float
    tuned_on: date
    evaluation: str
    # Partners whose drop was late (XREC_LATE_PARTNER_POLICY=skip), comma-separated, '' when none:
    # the model saw only their last good state. Copied from main.late_sources (xrec.quality.late).
    late_sources: str | None

    @property
    def config(self) -> ModelConfig:
        return ModelConfig.from_dict(self.params)


@dataclass(frozen=True)
class PublishedRanker:
    """What scores like the published recommendations (see the module docstring)."""

    run: ModelRun
    config: ModelConfig
    model: LightFM | None  # None when run.ranker == 'popularity'
    id_maps: dict


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
    settings: Settings,
    version: str,
    ranker: str,
    config: ModelConfig,
    model: LightFM | None,
    id_maps: dict,
    metrics: dict,
) -> Path:
    """Write ranker.json, id_maps.json, metrics.json (and model.pkl for LightFM) under
    artifacts/models/<version>/."""
    folder = settings.artifacts / "models" / version
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.pkl").unlink(missing_ok=True)
    if model is not None:
        with open(folder / "model.pkl", "wb") as out:
            pickle.dump(model, out, protocol=pickle.HIGHEST_PROTOCOL)
    (folder / "ranker.json").write_text(json.dumps({"ranker": ranker, "config": config.as_dict()}, sort_keys=True))
    (folder / "id_maps.json").write_text(json.dumps(id_maps))
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
    log.info("artifact written: %s", folder)
    return folder


def load_artifact(path: str | Path) -> tuple[LightFM | None, dict]:
    """(model or None for popularity, id_maps) of an artifact folder."""
    folder = Path(path)
    model = None
    if (folder / "model.pkl").exists():
        with open(folder / "model.pkl", "rb") as source:
            model = pickle.load(source)
    return model, json.loads((folder / "id_maps.json").read_text())


def _ensure_tables(con) -> None:
    """Create the tables, and give those of an earlier release the columns added since."""
    for table in (MODEL_RUNS, MODEL_CANDIDATES):
        con.execute(table.ddl())
        for statement in table.add_missing_columns():
            con.execute(statement)


def _records(frame: pd.DataFrame) -> list[ModelRun]:
    runs = []
    for record in frame.to_dict("records"):
        for column in ("params", "metrics", "baseline_metrics"):
            record[column] = json.loads(record[column]) if record[column] else {}
        for column in ("run_date", "data_window_start", "data_window_end", "tuned_on"):
            record[column] = None if pd.isna(record[column]) else pd.Timestamp(record[column]).date()
        record["trained_at"] = pd.Timestamp(record["trained_at"]).to_pydatetime()
        for column in ("previous_value", "model_value"):
            record[column] = None if pd.isna(record[column]) else record[column]
        record["ranker"] = record["ranker"] or LIGHTFM  # runs recorded before the column existed
        runs.append(ModelRun(**record))
    return runs


def _select(con, where: str, args: list) -> list[ModelRun]:
    names = [f.name for f in fields(ModelRun)]
    return _records(con.execute(f"select {', '.join(names)} from {MODEL_RUNS.relation} where {where}", args).df())


def run_for(settings: Settings, run_date: date) -> ModelRun | None:
    """The model run recorded for `run_date`, if any."""
    with connect(settings) as con:
        _ensure_tables(con)
        runs = _select(con, "run_date = ?", [run_date])
    return runs[0] if runs else None


LATEST_PUBLISHED = "is_published and run_date < ? order by run_date desc, trained_at desc limit 1"


def last_published(settings: Settings, before: date) -> ModelRun | None:
    """The latest published run with run_date before `before` (what today's champion must match)."""
    with connect(settings) as con:
        _ensure_tables(con)
        runs = _select(con, LATEST_PUBLISHED, [before])
    return runs[0] if runs else None


def load_published_ranker(settings: Settings) -> PublishedRanker | None:
    """The currently published ranker (None before the first publish). Opens the warehouse
    read-only, so a serving process may call it (never while the daily job writes: use the
    read-only snapshot's path as settings.warehouse there)."""
    if not settings.warehouse.exists():
        return None
    with connect(settings, read_only=True) as con:
        exists = con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'main' and table_name = ?", [MODEL_RUNS.name]
        ).fetchone()[0]
        runs = _select(con, LATEST_PUBLISHED, [date.max]) if exists else []
    if not runs:
        return None
    model, id_maps = load_artifact(runs[0].artifact_path)
    return PublishedRanker(run=runs[0], config=runs[0].config, model=model, id_maps=id_maps)


def record_run(settings: Settings, run: ModelRun) -> None:
    """Replace the model_runs row of run.run_date (one transaction)."""
    row = asdict(run)
    for column in ("params", "metrics", "baseline_metrics"):
        row[column] = json.dumps(row[column], sort_keys=True)
    names = list(row)
    with connect(settings) as con:
        _ensure_tables(con)
        con.execute("begin transaction")
        con.execute(f"delete from {MODEL_RUNS.relation} where run_date = ?", [run.run_date])
        con.execute(
            f"insert into {MODEL_RUNS.relation} ({', '.join(names)}) values ({', '.join('?' * len(names))})",
            list(row.values()),
        )
        con.execute("commit")
    log.info(
        "model_runs: %s for %s recorded (ranker %s, promoted=%s: %s)",
        run.model_version,
        run.run_date,
        run.ranker,
        run.is_promoted,
        run.decision_reason,
    )


def record_selection(settings: Settings, run_date: date, selection: Selection, partners: tuple[str, ...]) -> None:
    """Replace the model_candidates rows of a tuning run on run_date (one transaction)."""
    frame = selection.candidates.assign(
        run_date=run_date,
        persons=selection.persons,
        interactions=selection.interactions,
        partners=",".join(partners),
        selection_seconds=selection.seconds,
    )
    columns = MODEL_CANDIDATES.column_names
    with connect(settings) as con:
        _ensure_tables(con)
        con.execute("begin transaction")
        con.execute(f"delete from {MODEL_CANDIDATES.relation} where run_date = ?", [run_date])
        con.register("candidates_frame", frame[columns])
        con.execute(
            f"insert into {MODEL_CANDIDATES.relation} ({', '.join(columns)}) "
            f"select {', '.join(columns)} from candidates_frame"
        )
        con.unregister("candidates_frame")
        con.execute("commit")


def stored_selection(
    settings: Settings, run_date: date, every_days: int, partners: tuple[str, ...]
) -> tuple[date, dict] | None:
    """(tuned_on, the chosen candidate's representation/weighting/components/learning rate/epochs
    and enough_epochs) of the latest tuning run in the `every_days` before run_date for the same
    partners; None when this
    run must tune (a tuning day that is re-run tunes again, with the same result), including when
    the stored choice drifted: it beat popularity on the test window of its tuning day but no
    longer did on the last run before run_date (a choice that never beat it waits for the
    schedule, so data where popularity wins does not tune every day)."""
    if every_days <= 0:
        return None
    with connect(settings) as con:
        _ensure_tables(con)
        found = con.execute(
            "select run_date, representation, weighting, components, learning_rate, epochs, enough_epochs "
            f"from {MODEL_CANDIDATES.relation} "
            "where is_selected and run_date < ? and run_date > ? and partners = ? "
            "order by run_date desc limit 1",
            [run_date, run_date - timedelta(days=every_days), ",".join(partners)],
        ).fetchone()
        if found is None:
            return None
        beat = (
            f"select model_value > baseline_value from {MODEL_RUNS.relation} where {{}} order by run_date desc limit 1"
        )
        at_tuning = con.execute(beat.format("run_date = ?"), [found[0]]).fetchone()
        last = con.execute(beat.format("run_date < ?"), [run_date]).fetchone()
    if at_tuning and at_tuning[0] and last and not last[0]:
        log.info("the selection of %s beat popularity then but not on the last run: tuning again", found[0])
        return None
    tuned_on, representation, weighting, components, learning_rate, epochs, enough = found
    if learning_rate is None or enough is None:  # tuned before these were recorded: tune again
        return None
    return pd.Timestamp(tuned_on).date(), {
        "representation": representation,
        "weighting": weighting,
        "components": int(components),
        "learning_rate": float(learning_rate),
        "epochs": int(epochs),
        "enough_epochs": int(enough),
    }
