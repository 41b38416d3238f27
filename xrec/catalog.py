"""Every table the Python code writes or reads outside dbt, with its columns, and the two enums
the recommendation rows carry (direction, variant). The one owner of these names: modules import
them from here instead of spelling "main.model_runs" or a column list themselves.

Pure constants (no storage code), so ml/ may import it too. The tables Python writes are
documented for dbt in dbt_project/models/outputs/_outputs__sources.yml; tests/test_catalog.py
checks the two agree. The marts Python reads are dbt models: their columns are owned by the dbt
contracts (dbt_project/models/marts/ml/_ml__models.yml), so only their relations are named here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Direction(StrEnum):
    """Who receives what (CONTRACT.md "What comes out")."""

    PLATFORM_TO_PARTNER = "platform_to_partner"  # platform users receive the partner's items
    PARTNER_TO_PLATFORM = "partner_to_platform"  # the partner's customers receive platform courses


class Variant(StrEnum):
    """Which ranker produced a row: the published model, or popularity for the A/B control group."""

    MODEL = "model"
    CONTROL = "control"


# Plain-string forms, for frames and SQL text.
PLATFORM_TO_PARTNER: str = Direction.PLATFORM_TO_PARTNER.value
PARTNER_TO_PLATFORM: str = Direction.PARTNER_TO_PLATFORM.value
MODEL: str = Variant.MODEL.value
CONTROL: str = Variant.CONTROL.value


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[tuple[str, str], ...] = ()  # (name, DuckDB type), in table order

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def ddl(self) -> str:
        """``create table if not exists`` with every column."""
        body = ", ".join(f"{name} {kind}" for name, kind in self.columns)
        return f"create table if not exists {self.relation} ({body})"

    def add_missing_columns(self) -> list[str]:
        """``alter table`` statements that give a table created by an earlier release the
        columns added since (idempotent)."""
        return [f"alter table {self.relation} add column if not exists {name} {kind}" for name, kind in self.columns]


# --- Written by Python (schema main), documented in the dbt source "outputs" -----------------

# cross_recommendations: the contract columns, then xrec's additions (docs/interfaces.md).
RECOMMENDATION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_date", "DATE"),
    ("model_version", "VARCHAR"),
    ("direction", "VARCHAR"),
    ("partner", "VARCHAR"),
    ("recipient_id", "VARCHAR"),
    ("item_id", "VARCHAR"),
    ("rank", "INTEGER"),
    ("score", "DOUBLE"),
    ("generated_at", "TIMESTAMP"),
    ("person_id", "VARCHAR"),
    ("variant", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("reason_items", "VARCHAR"),
)
CROSS_RECOMMENDATIONS = Table("main", "cross_recommendations", RECOMMENDATION_COLUMNS)
# Scored rows awaiting the output gate: the same columns.
RECOMMENDATION_CANDIDATES = Table("main", "recommendation_candidates", RECOMMENDATION_COLUMNS)

MODEL_RUNS = Table(
    "main",
    "model_runs",
    (
        ("model_version", "VARCHAR"),
        ("run_date", "DATE"),
        ("trained_at", "TIMESTAMP"),
        ("data_window_start", "DATE"),
        ("data_window_end", "DATE"),
        ("params", "JSON"),
        ("metrics", "JSON"),
        ("baseline_metrics", "JSON"),
        ("primary_metric", "VARCHAR"),
        ("primary_value", "DOUBLE"),
        ("baseline_value", "DOUBLE"),
        ("previous_value", "DOUBLE"),
        ("is_published", "BOOLEAN"),
        ("decision_reason", "VARCHAR"),
        ("artifact_path", "VARCHAR"),
        ("is_promoted", "BOOLEAN"),
        ("ranker", "VARCHAR"),
        ("model_value", "DOUBLE"),
        ("tuned_on", "DATE"),
        ("evaluation", "VARCHAR"),
        ("late_sources", "VARCHAR"),
    ),
)
MODEL_CANDIDATES = Table(
    "main",
    "model_candidates",
    (
        ("run_date", "DATE"),
        ("candidate", "VARCHAR"),
        ("ranker", "VARCHAR"),
        ("representation", "VARCHAR"),
        ("weighting", "VARCHAR"),
        ("components", "INTEGER"),
        ("epochs", "INTEGER"),
        ("validation_value", "DOUBLE"),
        ("test_value", "DOUBLE"),
        ("is_selected", "BOOLEAN"),
        ("fit_seconds", "DOUBLE"),
        ("persons", "INTEGER"),
        ("interactions", "BIGINT"),
        ("partners", "VARCHAR"),
        ("selection_seconds", "DOUBLE"),
        ("learning_rate", "DOUBLE"),
        ("trained_epochs", "INTEGER"),
        ("stopped", "VARCHAR"),
        ("curve", "JSON"),
        ("enough_epochs", "INTEGER"),
    ),
)
DATA_QUALITY_RESULTS = Table(
    "main",
    "data_quality_results",
    (
        ("run_id", "VARCHAR"),
        ("layer", "VARCHAR"),
        ("source", "VARCHAR"),
        ("run_date", "DATE"),
        ("suite", "VARCHAR"),
        ("passed", "BOOLEAN"),
        ("evaluated_expectations", "INTEGER"),
        ("failed_expectations", "INTEGER"),
        ("warned_expectations", "INTEGER"),
        ("quarantined_rows", "BIGINT"),
        ("failures", "JSON"),
        ("validated_at", "TIMESTAMP"),
    ),
)
DELIVERY_VERDICTS = Table(
    "main",
    "delivery_verdicts",
    (
        ("source", "VARCHAR"),
        ("delivery_date", "DATE"),
        ("loaded_at", "TIMESTAMP"),
        ("passed", "BOOLEAN"),
        ("decided_by", "VARCHAR"),
        ("reason", "VARCHAR"),
        ("run_id", "VARCHAR"),
        ("decided_at", "TIMESTAMP"),
    ),
)
LATE_SOURCES = Table(
    "main",
    "late_sources",
    (
        ("run_date", "DATE"),
        ("source", "VARCHAR"),
        ("reason", "VARCHAR"),
        ("noticed_at", "TIMESTAMP"),
    ),
)

OUTPUT_TABLES: tuple[Table, ...] = (
    CROSS_RECOMMENDATIONS,
    RECOMMENDATION_CANDIDATES,
    MODEL_RUNS,
    MODEL_CANDIDATES,
    DATA_QUALITY_RESULTS,
    DELIVERY_VERDICTS,
    LATE_SOURCES,
)

# --- Written by ingest and privacy (their DDL lives with the loader) --------------------------

LOAD_AUDIT = Table("raw", "load_audit")
QUARANTINE = Table("raw", "quarantine")

# --- dbt marts Python reads (columns owned by the dbt contracts) ------------------------------

ML_MARTS: dict[str, Table] = {
    name: Table("marts", f"ml_{name}")
    for name in ("persons", "recipients", "items", "interactions", "person_features", "item_features")
}
