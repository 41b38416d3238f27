"""The model steps of the daily job: select (on a schedule) + evaluate + gate + publishable
model, then score. Reads the marts, calls `ml/` with frames and typed configurations, writes
model_candidates, model_runs, the artifact and recommendation_candidates.

Selection cost is bounded twice: a tuning run trains the grid on a seeded sample of at most
XREC_TUNE_SAMPLE_PERSONS persons, and it runs only when no tuning for the same partners is
younger than XREC_TUNE_EVERY_DAYS (a new partner therefore re-tunes); other days reuse the stored
choice and pay only the champion evaluation (on the same bounded sample) and the published fit.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import cast

import pyarrow as pa
import pyarrow.parquet as pq
from lightfm import LightFM

from ml.baseline import popularity_embeddings
from ml.config import LIGHTFM, POPULARITY, ModelConfig, SelectionConfig
from ml.dataset import MartDataError, RecDataset, build_dataset, data_window, known_interactions
from ml.embeddings import map_blocks, model_embeddings
from ml.evaluate import PRIMARY_METRIC
from ml.explain import model_explainer
from ml.gate import promotion_decision
from ml.pipeline import Champion, evaluate_champion, fit_published, published_epochs
from ml.rules import build_rule_context
from ml.score import COLUMNS, Ranking, Scorers, score_all
from ml.select import sample_marts, select_model
from xrec.catalog import RECOMMENDATION_CANDIDATES
from xrec.config import Settings
from xrec.spans import spanned
from xrec.steps.marts import load_marts
from xrec.steps.registry import (
    ModelRun,
    data_fingerprint,
    last_published,
    load_artifact,
    model_version,
    record_run,
    record_selection,
    run_for,
    save_artifact,
    stored_selection,
)
from xrec.warehouse import connect, day_of_recommendations

log = logging.getLogger(__name__)


def scoring_threads(settings: Settings) -> int:
    """Threads that score blocks of users (XREC_SCORE_THREADS; 0 = one per CPU)."""
    return settings.score_threads or os.cpu_count() or 1


def base_config(settings: Settings) -> ModelConfig:
    """The fixed part of every candidate (loss, penalties, seed, threads)."""
    return ModelConfig(
        loss=settings.loss,
        item_alpha=settings.item_alpha,
        user_alpha=settings.user_alpha,
        seed=settings.seed,
        threads=settings.threads,
    )


def selection_config(settings: Settings) -> SelectionConfig:
    return SelectionConfig(
        base=base_config(settings),
        components=settings.tune_components,
        learning_rates=settings.tune_learning_rates,
        max_epochs=settings.epochs,
        eval_every=settings.tune_eval_every,
        sample_persons=settings.tune_sample_persons,
        holdout_days=settings.holdout_days,
        k=settings.top_k,
        threads=scoring_threads(settings),
    )


def ranking(settings: Settings) -> Ranking:
    return Ranking(
        partners=settings.partners,
        k=settings.top_k,
        cap=settings.max_per_category,
        control_share=settings.control_share,
        threads=scoring_threads(settings),
    )


def choose_config(settings: Settings, run_date: date, sample) -> tuple[ModelConfig, int, date, str]:
    """(config, its enough_epochs, tuned_on, how): the stored choice when recent enough, else a
    tuning run now on `sample` (the marts of the seeded person sample)."""
    selection = selection_config(settings)
    stored = stored_selection(settings, run_date, settings.tune_every_days, settings.partners)
    if stored is not None:
        tuned_on, choice = stored
        enough = choice.pop("enough_epochs")
        config = replace(selection.base, **choice)
        return config, enough, tuned_on, f"reused the selection of {tuned_on} ({config.name})"
    result = select_model(sample, run_date, selection)
    record_selection(settings, run_date, result, settings.partners)
    return (
        result.chosen,
        result.enough_epochs,
        run_date,
        (
            f"selected {result.chosen.name} on validation among {len(result.candidates) - 1} LightFM candidates "
            f"({result.persons} persons, {result.seconds:.0f} s)"
        ),
    )


def train_and_evaluate(settings: Settings, run_date: date) -> ModelRun:
    """Choose the configuration, compare it with popularity on the test window, gate against
    the last published champion, train the published model, record model_runs."""
    marts = load_marts(settings)
    # Selection and the champion evaluation run on the same seeded person sample, so neither
    # grows with the data (at M the champion on all 250k persons cost more than the selection).
    sample = sample_marts(marts, settings.tune_sample_persons, settings.seed)
    config, enough, tuned_on, chosen_how = choose_config(settings, run_date, sample)
    # The champion is measured as it is published: for the epochs the chosen candidate's
    # validation curve needed (its `enough_epochs`), not the few more that gained < 2%.
    evaluated = replace(config, epochs=enough)
    tuned_rows, all_rows = len(known_interactions(sample)), len(known_interactions(marts))
    published = replace(config, epochs=published_epochs(config, enough, tuned_rows, all_rows))
    # Neither needs the other, and each fits on one thread: the champion evaluation and the
    # published fit run side by side (XREC_SCORE_THREADS). The published model is fitted whatever
    # the champion is; a day popularity wins discards it (its dataset is what that day needs).
    side_by_side = map_blocks(
        lambda task: task(),
        [
            lambda: evaluate_champion(sample, run_date, evaluated, settings.holdout_days, settings.top_k),
            lambda: fit_published(marts, published),
        ],
        scoring_threads(settings),
    )
    champion = cast(Champion, side_by_side[0])
    model, dataset = cast(tuple[LightFM | None, RecDataset], side_by_side[1])
    previous = last_published(settings, run_date)
    previous_value = None if previous is None else previous.primary_value
    promoted, gate_reason = promotion_decision(champion.value, previous_value, settings.promotion_tolerance)

    params = {**published.as_dict(), "ranker": champion.ranker}
    version = model_version(run_date, data_fingerprint(marts), params)
    if champion.ranker != LIGHTFM:
        model = None
    artifact = save_artifact(
        settings,
        version,
        champion.ranker,
        published,
        model,
        dataset.id_maps(),
        {"model": champion.metrics, "baseline": champion.baseline_metrics},
    )
    start, end = data_window(known_interactions(marts), run_date)
    from xrec.quality.late import late_sources  # xrec.quality loads GX: only when training

    with connect(settings) as con:
        late = late_sources(con, run_date)
    run = ModelRun(
        model_version=version,
        run_date=run_date,
        trained_at=datetime.now(UTC).replace(tzinfo=None),
        data_window_start=start,
        data_window_end=end,
        params=params,
        metrics=champion.metrics,
        baseline_metrics=champion.baseline_metrics,
        primary_metric=PRIMARY_METRIC,
        primary_value=champion.value,
        baseline_value=champion.baseline_value,
        previous_value=previous_value,
        is_published=False,
        decision_reason=f"{champion.reason}; {chosen_how}; {gate_reason}",
        artifact_path=str(artifact),
        is_promoted=promoted,
        ranker=champion.ranker,
        model_value=champion.model_value,
        tuned_on=tuned_on,
        late_sources=",".join(source for source, _ in late),
        evaluation=(
            f"metrics: {evaluated.name} (the chosen {config.name} for the {enough} epochs its validation curve "
            f"needed to come within {selection_config(settings).publish_tolerance:.0%} of its best) trained on "
            f"the interactions of a seeded sample of {len(sample.persons)} of {len(marts.persons)} persons "
            f"before the test window (the last {settings.holdout_days} days, fewer on a short history), measured "
            "on that window and the sample's test cohort (the test split), popularity beside it on the same rows; "
            "the published model is the same configuration trained on all interactions of all persons up to "
            f"run_date for {published.epochs} epochs"
            + (
                ""
                if published.epochs == enough
                else f" (features-only: {enough} scaled by the rows, {tuned_rows} in the sample, {all_rows} in all)"
            )
        ),
    )
    record_run(settings, run)
    return run


def score_candidates(settings: Settings, run_date: date) -> int:
    """Write run_date's recommendation_candidates (0 rows, partition cleared, when not promoted)."""
    run = run_for(settings, run_date)
    if run is None:
        raise MartDataError(f"model_runs has no run for {run_date}: run train_and_evaluate first")
    if not run.is_promoted:
        log.warning("no candidates for %s: %s not promoted (%s)", run_date, run.model_version, run.decision_reason)
        return write_candidates(settings, run_date, [])
    marts = load_marts(settings)
    if model_version(run_date, data_fingerprint(marts), run.params) != run.model_version:
        raise MartDataError(
            f"the ML marts changed since model {run.model_version} was trained for {run_date}; "
            "re-run train_and_evaluate before scoring"
        )
    interactions = known_interactions(marts)
    dataset = build_dataset(marts, interactions, run.config.representation)
    model, _ = load_artifact(run.artifact_path)
    owned = dataset.interaction_matrices(interactions)[0]
    popularity = popularity_embeddings(owned)
    published = popularity if run.ranker == POPULARITY else model_embeddings(model, dataset)
    scorers = Scorers(
        model=published, popularity=popularity, ranker=run.ranker, explainer=model_explainer(model, dataset, owned)
    )
    tables = score_all(
        ranking(settings),
        run_date,
        run.model_version,
        dataset,
        scorers,
        build_rule_context(dataset, owned),
        marts.recipients,
    )
    return write_candidates(settings, run_date, tables)


# Ranking happens as the tables are written (score_all yields them block by block): one span.
@spanned("rank_and_write")
def write_candidates(settings: Settings, run_date: date, tables: Iterable[pa.Table]) -> int:
    """Replace the run_date partition of recommendation_candidates with `tables` (COLUMNS each).

    The blocks are written one by one to a Parquet file beside the warehouse, which then
    replaces the partition in one transaction, in the blocks' order (publish keeps it). DuckDB
    holds a transaction's appended rows in memory, so inserting the blocks in that transaction
    took the score step at M to 13.9 GB; the final insert-select streams. A DuckDB staging table
    instead of the file cost the rows' compression twice (9.2M rows: 102 s CPU and 4.6 GB
    against 69 s and 3.6 GB). The file is removed even when the step fails: it names persons,
    and erasure looks only into the warehouse.
    """
    staging = settings.warehouse.with_name(f"recommendation_candidates_staging_{run_date:%Y%m%d}.parquet")
    columns = ", ".join(COLUMNS)
    rows = 0
    writer: pq.ParquetWriter | None = None
    try:
        for table in tables:
            if writer is None:
                writer = pq.ParquetWriter(staging, table.schema)
            writer.write_table(table)
            rows += len(table)
        if writer is not None:
            writer.close()
        with connect(settings) as con:
            con.execute(RECOMMENDATION_CANDIDATES.ddl())
            con.execute("begin transaction")
            con.execute(f"delete from {RECOMMENDATION_CANDIDATES.relation} where run_date = ?", [run_date])
            if writer is not None:
                with day_of_recommendations(con):
                    con.execute(
                        f"insert into {RECOMMENDATION_CANDIDATES.relation} ({columns}) "
                        f"select {columns} from read_parquet(?)",
                        [str(staging)],
                    )
            con.execute("commit")
    finally:
        if writer is not None:
            writer.close()
        staging.unlink(missing_ok=True)
    log.info("recommendation_candidates for %s: %d rows written", run_date, rows)
    return rows
