"""The one place xrec reads its configuration from.

Every setting is an environment variable with an embedded default (the "embedded default"
deployment: sample extracts, a DuckDB file, Airflow on SQLite). Nothing else in xrec, ml or the
DAGs reads ``os.environ``; they receive a ``Settings`` and pass it down explicitly.
The table in README.md ("Configuration") documents each variable; keep the two in step.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_PARTNERS = ("realty", "finance", "home", "automod")
PLATFORM = "platform"
# The contract's time zone: business dates, and the zone of offset-less timestamps in extracts.
# (dbt's cleaning macro names it too: dbt_project/macros/cleaning.sql.)
BUSINESS_TIME_ZONE = "Asia/Shanghai"
# Created with random keys on first use when absent (never committed: data/ is gitignored).
DEFAULT_EXPORT_KEYS_FILE = "data/export_keys.json"
# Every file a run writes, relative to the root of Settings.isolated.
ISOLATED_PATHS = {
    "XREC_LANDING": "landing",
    "XREC_WAREHOUSE": "warehouse.duckdb",
    "XREC_EXPORTS": "exports",
    "XREC_ARTIFACTS": "artifacts",
    "AIRFLOW_HOME": "airflow",
    "XREC_EXPORT_KEYS_FILE": "export_keys.json",
}


def _path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _opt_str(value: str) -> str | None:
    return value or None


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Field metadata: (ENV_VAR, default, parser)."""

    landing: Path = field(metadata={"env": ("XREC_LANDING", "data/landing", _path)})
    warehouse: Path = field(metadata={"env": ("XREC_WAREHOUSE", "data/warehouse.duckdb", _path)})
    serving_dsn: str | None = field(metadata={"env": ("XREC_SERVING_DSN", "", _opt_str)})
    serving_schema: str = field(metadata={"env": ("XREC_SERVING_SCHEMA", "xrec", str)})
    # DuckDB's buffer pool per warehouse connection. DuckDB's own default is 80% of RAM, and it
    # caches what a step reads and writes up to it: at M, erase and publish (deleting from and
    # copying 9M-row tables) peaked at 12.5 and 18.9 GB. Measured on publish at M (like-for-like
    # re-runs): unbounded 152 s / 18.2 GB, 4GB 170 s / 4.4 GB, 1GB 200 s / 1.4 GB.
    duckdb_memory_limit: str = field(metadata={"env": ("XREC_DUCKDB_MEMORY_LIMIT", "4GB", str)})
    # Rows of a fact mart the marts gate holds in one pandas frame: a first run (every row new)
    # is validated in chunks of consecutive delivered days up to this many rows, a daily run in
    # one. At M the whole marts in one frame peaked at 6.5 GB.
    quality_chunk_rows: int = field(metadata={"env": ("XREC_QUALITY_CHUNK_ROWS", "2500000", int)})
    # The dbt target the warehouse is built on (dbt_project/profiles.yml): "local" is the DuckDB
    # file above; "postgres" builds the same models in a PostgreSQL database (README "A bigger warehouse").
    dbt_target: str = field(metadata={"env": ("XREC_DBT_TARGET", "local", str)})
    # Models and tests dbt runs side by side (the DAG's order still holds). Most of dbt's nodes are
    # small (at M, 179 tests take 21 s in all), so a second thread overlaps them on 2 cores.
    dbt_threads: int = field(metadata={"env": ("XREC_DBT_THREADS", "2", int)})
    pg_warehouse_host: str = field(metadata={"env": ("XREC_PG_WAREHOUSE_HOST", "127.0.0.1", str)})
    pg_warehouse_port: int = field(metadata={"env": ("XREC_PG_WAREHOUSE_PORT", "5432", int)})
    pg_warehouse_user: str = field(metadata={"env": ("XREC_PG_WAREHOUSE_USER", "postgres", str)})
    pg_warehouse_database: str = field(metadata={"env": ("XREC_PG_WAREHOUSE_DATABASE", "xrec", str)})
    pg_warehouse_schema: str = field(metadata={"env": ("XREC_PG_WAREHOUSE_SCHEMA", "public", str)})
    exports: Path = field(metadata={"env": ("XREC_EXPORTS", "data/exports", _path)})
    artifacts: Path = field(metadata={"env": ("XREC_ARTIFACTS", "data/artifacts", _path)})
    partners: tuple[str, ...] = field(metadata={"env": ("XREC_PARTNERS", ",".join(DEFAULT_PARTNERS), _csv)})
    raw_gate_policy: str = field(metadata={"env": ("XREC_RAW_GATE_POLICY", "stop", str)})
    wait_timeout_minutes: int = field(metadata={"env": ("XREC_WAIT_TIMEOUT_MINUTES", "360", int)})
    late_partner_policy: str = field(metadata={"env": ("XREC_LATE_PARTNER_POLICY", "fail", str)})
    top_k: int = field(metadata={"env": ("XREC_TOP_K", "10", int)})
    max_per_category: int = field(metadata={"env": ("XREC_MAX_PER_CATEGORY", "4", int)})
    holdout_days: int = field(metadata={"env": ("XREC_HOLDOUT_DAYS", "7", int)})
    loss: str = field(metadata={"env": ("XREC_LOSS", "warp", str)})
    epochs: int = field(metadata={"env": ("XREC_EPOCHS", "30", int)})
    tune_components: tuple[int, ...] = field(
        metadata={"env": ("XREC_TUNE_COMPONENTS", "32,64", lambda v: tuple(int(c) for c in _csv(v)))}
    )
    tune_eval_every: int = field(metadata={"env": ("XREC_TUNE_EVAL_EVERY", "5", int)})
    tune_sample_persons: int = field(metadata={"env": ("XREC_TUNE_SAMPLE_PERSONS", "20000", int)})
    tune_every_days: int = field(metadata={"env": ("XREC_TUNE_EVERY_DAYS", "7", int)})
    tune_learning_rates: tuple[float, ...] = field(
        metadata={"env": ("XREC_TUNE_LEARNING_RATES", "0.05,0.1", lambda v: tuple(float(r) for r in _csv(v)))}
    )
    item_alpha: float = field(metadata={"env": ("XREC_ITEM_ALPHA", "1e-6", float)})
    user_alpha: float = field(metadata={"env": ("XREC_USER_ALPHA", "1e-6", float)})
    threads: int = field(metadata={"env": ("XREC_THREADS", "1", int)})
    score_threads: int = field(metadata={"env": ("XREC_SCORE_THREADS", "0", int)})
    seed: int = field(metadata={"env": ("XREC_SEED", "42", int)})
    promotion_tolerance: float = field(metadata={"env": ("XREC_PROMOTION_TOLERANCE", "0.10", float)})
    control_share: float = field(metadata={"env": ("XREC_CONTROL_SHARE", "0.10", float)})
    # Privacy (README "Privacy"): per-partner pseudonym keys, the smallest audience a partner may
    # see counted, how long raw partitions and quarantine rows are kept.
    export_keys_file: Path = field(metadata={"env": ("XREC_EXPORT_KEYS_FILE", DEFAULT_EXPORT_KEYS_FILE, _path)})
    min_audience: int = field(metadata={"env": ("XREC_MIN_AUDIENCE", "50", int)})
    raw_retention_days: int = field(metadata={"env": ("XREC_RAW_RETENTION_DAYS", "400", int)})
    airflow_home: Path = field(metadata={"env": ("AIRFLOW_HOME", ".airflow", _path)})
    airflow_port: int = field(metadata={"env": ("XREC_AIRFLOW_PORT", "8780", int)})
    verbose: bool = field(metadata={"env": ("XREC_VERBOSE", "false", _bool)})
    api_tokens_file: Path | None = field(
        metadata={"env": ("XREC_API_TOKENS_FILE", "", lambda v: _path(v) if v else None)}
    )
    api_tokens: str = field(metadata={"env": ("XREC_API_TOKENS", "", str)})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default: the process environment)."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            name, default, parse = f.metadata["env"]
            values[f.name] = parse(environ.get(name, default))
        settings = cls(**values)
        settings.validate()
        return settings

    @classmethod
    def isolated(cls, root: Path, overrides: Mapping[str, str] | None = None) -> Settings:
        """Settings whose every file lives under ``root`` and that reach no serving database: the
        embedded defaults otherwise (the process environment is not read), then ``overrides``.
        What every test fixture and the benchmark's scratch runs use."""
        environ = {name: str(Path(root) / relative) for name, relative in ISOLATED_PATHS.items()}
        environ["XREC_SERVING_DSN"] = ""
        return cls.from_env({**environ, **(overrides or {})})

    def validate(self) -> None:
        if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", self.duckdb_memory_limit, flags=re.IGNORECASE):
            raise ValueError(
                f"XREC_DUCKDB_MEMORY_LIMIT must be a size such as 1GB or 512MiB, not {self.duckdb_memory_limit!r}"
            )
        if self.raw_gate_policy not in {"stop", "exclude"}:
            raise ValueError(f"XREC_RAW_GATE_POLICY must be 'stop' or 'exclude', not {self.raw_gate_policy!r}")
        if self.late_partner_policy not in {"fail", "skip"}:
            raise ValueError(f"XREC_LATE_PARTNER_POLICY must be 'fail' or 'skip', not {self.late_partner_policy!r}")
        if self.quality_chunk_rows < 1:
            raise ValueError(f"XREC_QUALITY_CHUNK_ROWS must be a positive row count, not {self.quality_chunk_rows}")
        if PLATFORM in self.partners:
            raise ValueError("XREC_PARTNERS lists partners only; 'platform' is always a source")
        if not self.tune_components or min(self.tune_components) < 1:
            raise ValueError("XREC_TUNE_COMPONENTS must list positive embedding sizes, e.g. 32,64")
        if not self.tune_learning_rates or min(self.tune_learning_rates) <= 0:
            raise ValueError("XREC_TUNE_LEARNING_RATES must list positive learning rates, e.g. 0.05,0.1")
        if self.epochs < 1 or self.tune_eval_every < 1:
            raise ValueError("XREC_EPOCHS and XREC_TUNE_EVAL_EVERY must be at least 1")
        if self.min_audience < 1:
            raise ValueError("XREC_MIN_AUDIENCE must be at least 1")
        if self.raw_retention_days < 1:
            raise ValueError("XREC_RAW_RETENTION_DAYS must be at least 1")
        if not 0 <= self.control_share < 1:
            raise ValueError("XREC_CONTROL_SHARE must be in [0, 1)")

    @property
    def sources(self) -> tuple[str, ...]:
        """Every source that delivers extracts: the platform first, then the partners."""
        return (PLATFORM, *self.partners)

    @property
    def dbt_project_dir(self) -> Path:
        return PROJECT_ROOT / "dbt_project"

    @property
    def expectations_dir(self) -> Path:
        return PROJECT_ROOT / "expectations"

    def env(self) -> dict[str, str]:
        """These settings as environment variables, for subprocesses (dbt, Airflow)."""
        out = {}
        for f in fields(self):
            name = f.metadata["env"][0]
            value = getattr(self, f.name)
            if value is None:
                out[name] = ""
            elif isinstance(value, tuple):
                out[name] = ",".join(str(part) for part in value)
            else:
                out[name] = str(value)
        return out


def documented_variables() -> list[tuple[str, str]]:
    """(variable, default) for every setting; the README table is checked against this."""
    return [(f.metadata["env"][0], f.metadata["env"][1]) for f in fields(Settings)]
