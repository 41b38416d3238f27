"""Table and column descriptions for the serving schema, so BI tools show what each field means.

dbt is the source of truth: marts are dbt models and the output tables are declared as dbt
sources, both with descriptions, compiled into ``target/manifest.json``. When the manifest is
missing (dbt not run yet) or silent about a column, the fallbacks below (from
docs/interfaces.md and CONTRACT.md) are used; they are the only copy of those texts in code.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from xrec.config import Settings

log = logging.getLogger(__name__)

FALLBACK_TABLES: dict[str, str] = {
    "cross_recommendations": "Published cross-recommendations, one partition per run_date (history).",
    "cross_recommendations_current": "Recommendations of the latest published run_date.",
    "model_runs": "One row per training run: version, data window, parameters, offline and baseline "
    "metrics, whether it was published and why not.",
    "data_quality_results": "One row per data-quality suite run: layer, source, date, pass/fail, "
    "failed expectations, quarantined rows.",
    "dim_person": "Identity-resolved people (no PII, no contact hashes).",
    "dim_item": "Platform courses and partner items in one catalogue.",
    "bi_segment_profiles": "Size and profile of each person segment.",
    "bi_partner_overlap": "How many people each partner shares with the platform and other partners.",
    "bi_orphan_references": "Per source and day, interactions naming an item not in dim_item (never delivered "
    "or quarantined): kept, left out of the model until the item arrives.",
}

FALLBACK_COLUMNS: dict[str, str] = {
    "run_date": "Business date of the pipeline run that produced the row.",
    "model_version": "Version of the model that produced the recommendation or run.",
    "direction": "platform_to_partner: platform users receive partner items; "
    "partner_to_platform: partner customers receive platform courses.",
    "partner": "Partner the recommendation concerns (realty, finance, home, automod, ...).",
    "recipient_id": "Who receives it: platform user_id, or the partner's own customer_id.",
    "item_id": "Recommended item: a partner item_id, or a platform course_id.",
    "rank": "Position 1..k, dense, per recipient and partner.",
    "score": "Model score; higher is more relevant (comparable within one run).",
    "generated_at": "When the recommendation was scored.",
    "person_id": "Identity-resolved person the row belongs to.",
    "variant": "model: served by the model; control: held-out control group (baseline ranking).",
    "reason": "Personal reason in Chinese | English: the history items (or stated features) that led to the item.",
    "reason_items": "The reason as JSON: [{kind: item|feature|topic|popular, ...}] (see ml/explain.py).",
    "trained_at": "When the model was trained.",
    "data_window_start": "First date of interactions used for training.",
    "data_window_end": "Last date of interactions used for training.",
    "params": "Training parameters (JSON).",
    "metrics": "Offline evaluation metrics of the model (JSON).",
    "baseline_metrics": "Offline metrics of the popularity baseline on the same holdout (JSON).",
    "primary_metric": "Metric the promotion gate compares.",
    "primary_value": "The published ranker's value of the primary metric on the test split.",
    "baseline_value": "Baseline's value of the primary metric.",
    "previous_value": "Primary metric of the previously published model.",
    "is_published": "Whether this run's recommendations were published.",
    "decision_reason": "Why the run was or was not published: the champion on the test window, how the "
    "configuration was chosen, the regression gate.",
    "ranker": "The published ranker: lightfm (the selected configuration) or popularity.",
    "model_value": "The selected LightFM configuration's primary metric on the test split.",
    "tuned_on": "Date of the tuning run whose selected configuration this run used (see model_candidates).",
    "evaluation": "How the metrics were obtained (the same configuration trained before the test window).",
    "artifact_path": "Where the trained model artefact is stored.",
    "late_sources": "Partners whose drop was late (XREC_LATE_PARTNER_POLICY=skip), comma-separated, empty "
    "when none: the run used only their last good state (details in late_sources).",
    "run_id": "Identifier of the data-quality suite run.",
    "layer": "Pipeline layer validated: raw, marts or outputs.",
    "source": "Source the row belongs to: platform or a partner.",
    "suite": "Expectation suite name.",
    "passed": "Whether every error-level expectation passed.",
    "evaluated_expectations": "Number of expectations evaluated.",
    "failed_expectations": "Number of expectations that failed.",
    "warned_expectations": "Number of warning-level expectations that failed.",
    "quarantined_rows": "Rows set aside by ingest for breaking a rule.",
    "failures": "Failed expectations with severity, unexpected count and sample values (JSON).",
    "validated_at": "When the suite ran.",
    "item_key": "'<source>:<item_id>', unique across the catalogue.",
    "segment_id": "Person segment.",
}


@dataclass(frozen=True)
class Descriptions:
    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)

    def table(self, name: str) -> str:
        return self.tables.get(name) or FALLBACK_TABLES.get(name) or f"{name} (not yet documented in dbt)."

    def column(self, table: str, column: str) -> str:
        return (
            self.columns.get(table, {}).get(column)
            or FALLBACK_COLUMNS.get(column)
            or f"{column} of {table} (not yet documented in dbt)."
        )


def manifest_path(settings: Settings) -> Path:
    return settings.dbt_project_dir / "target" / "manifest.json"


def load_descriptions(manifest: Path) -> Descriptions:
    """Descriptions of dbt models, seeds and sources by table name; empty when no manifest."""
    if not manifest.exists():
        log.info("descriptions: %s not found; using built-in descriptions", manifest)
        return Descriptions()
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    relations = {"model", "seed", "snapshot"}
    nodes = [
        *(n for n in doc.get("nodes", {}).values() if n.get("resource_type") in relations),
        *doc.get("sources", {}).values(),
    ]
    tables: dict[str, str] = {}
    columns: dict[str, dict[str, str]] = {}
    for node in nodes:
        name = node.get("alias") or node.get("identifier") or node["name"]
        if node.get("description"):
            tables[name] = node["description"].strip()
        described = columns.setdefault(name, {})
        for column, meta in node.get("columns", {}).items():
            if meta.get("description"):
                described[column] = meta["description"].strip()
    log.info("descriptions: %d tables from %s", len(tables), manifest)
    return Descriptions(tables, columns)
