"""Connections to the DuckDB warehouse.

DuckDB allows one writing process at a time: every writer runs inside the Airflow pool
``duckdb_writer`` (size 1). Readers that must not wait (BI, exports) read the published
Parquet files, Postgres, or the read-only snapshot instead of this file.
"""

from __future__ import annotations

import duckdb

from xrec.config import Settings


def connect(settings: Settings, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, its buffer pool bounded by XREC_DUCKDB_MEMORY_LIMIT; creates the file
    (and its folder) on first write."""
    if not read_only:
        settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(
        str(settings.warehouse), read_only=read_only, config={"memory_limit": settings.duckdb_memory_limit}
    )
