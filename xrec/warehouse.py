"""Connections to the DuckDB warehouse.

DuckDB allows one writing process at a time: every writer runs inside the Airflow pool
``duckdb_writer`` (size 1). Readers that must not wait (BI, exports) read the published
Parquet files, Postgres, or the read-only snapshot instead of this file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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


@contextmanager
def day_of_recommendations(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Settings for inserting a day's recommendation rows (M: 9.2M rows, ~0.5 KB of reason
    strings each): zstd storage, one thread. Measured on the M50 day (2.3M rows, one insert into
    an empty table then close): DuckDB's default tries every string compression on each segment
    and picks DICT_FSST, 7.8-10.4 s CPU and 360 MB; zstd 5.2-6.2 s and 170 MB, and reading the
    day back to Arrow costs the same (2.8 s CPU). The parallel insert left row groups that the
    checkpoint at close rewrote (candidates insert + commit + close 11.6-14.9 s CPU against
    7.2-8.2 on one thread, peak RSS 2.1-2.5 GB against 1.6-2.1, the file 98 MB larger; wall the
    same when quiet). Same rows, same order. Both settings are the database instance's, which the
    process's other connections share, so they are restored when the block ends.
    """
    (threads,) = con.execute("select current_setting('threads')").fetchone() or (None,)
    con.execute("set force_compression = 'zstd'")
    con.execute("set threads = 1")
    try:
        yield
    finally:
        con.execute(f"set threads = {int(threads)}")
        con.execute("reset force_compression")
