"""Read one delivered file into a temporary staging table, PII already hashed.

CSV goes through DuckDB's own reader (all VARCHAR, RFC 4180 quoting, BOM tolerated) with
``store_rejects`` so malformed records are collected, not fatal; Parquet through
``read_parquet``. Raw ``email``/``phone`` are normalised and hashed in the very SELECT that reads
the file, so they never land in a table. The staging table holds the data columns (names
trimmed, lower-cased) plus ``_source_line``; malformed records go to ``<table>_malformed``
(``source_line``, ``bad_value``).
"""
from __future__ import annotations

import csv
import gzip
import logging
import re
import zlib
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from xrec.ingest.entities import Entity
from xrec.ingest.errors import IngestError
from xrec.ingest.landing import EntityFile
from xrec.ingest.lines import data_row_lines, record_start_lines, record_start_lines_exact

log = logging.getLogger(__name__)

_EMAIL = "lower(trim({col}))"
_PHONE_DIGITS = "regexp_replace(coalesce({col}, ''), '[^0-9]', '', 'g')"
# Contract normalisation: an 11-digit mainland mobile (leading '1') gets country code 86,
# then E.164 with its '+'. Hash: lowercase hex SHA-256; empty -> NULL.
_PII_SQL = {
    "email": f"CASE WHEN {_EMAIL} = '' THEN NULL ELSE sha256({_EMAIL}) END",
    "phone": (
        f"CASE WHEN {_PHONE_DIGITS} = '' THEN NULL "
        f"WHEN length({_PHONE_DIGITS}) = 11 AND {_PHONE_DIGITS} LIKE '1%' "
        f"THEN sha256('+86' || {_PHONE_DIGITS}) ELSE sha256('+' || {_PHONE_DIGITS}) END"
    ),
}
# Anything looking like an email or a phone number, blanked out of error text we pass on.
_PII_PATTERN = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+|\+?\d[\d ()-]{6,}\d")


@dataclass(frozen=True)
class StagedFile:
    """A file read into temp table ``table`` (+ ``<table>_malformed``)."""

    file: EntityFile
    table: str
    columns: tuple[str, ...]  # data columns as they land in raw (PII replaced by *_sha256)
    rows_read: int
    rows_malformed: int


def redact(text: str) -> str:
    """``text`` with email- and phone-like substrings replaced, safe to log or raise."""
    return _PII_PATTERN.sub("<redacted>", text)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _normalise(names: list[str], file: EntityFile) -> list[str]:
    cleaned = [re.sub(r"[^0-9a-z_]+", "_", name.strip().lstrip("\ufeff").lower()) for name in names]
    duplicates = sorted({name for name in cleaned if cleaned.count(name) > 1})
    if "" in cleaned or duplicates:
        raise IngestError(
            f"{file.relative_path}: header has empty or duplicate column names "
            f"{duplicates or ['<empty>']}; fix the header and re-deliver the drop"
        )
    return cleaned


def _check_header(columns: list[str], entity: Entity, file: EntityFile) -> None:
    missing = [name for name in entity.header if name not in columns]
    if missing:
        raise IngestError(
            f"{file.relative_path}: required column(s) {missing} missing from the header "
            f"(found {columns[:20]}); the contract requires {list(entity.header)}. "
            "Ask the sender to re-deliver the drop with the contract header."
        )


def _select_list(sources: list[str], names: list[str], entity: Entity) -> tuple[str, list[str]]:
    """SELECT expressions renaming ``sources`` to ``names`` as VARCHAR, hashing PII columns."""
    exprs, out = [], []
    for source, name in zip(sources, names):
        value = f"CAST({quote_ident(source)} AS VARCHAR)"
        if name in entity.pii:
            name = f"{name}_sha256"
            value = _PII_SQL[name.removesuffix("_sha256")].format(col=value)
        exprs.append(f"{value} AS {quote_ident(name)}")
        out.append(name)
    return ", ".join(exprs), out


def _file_bytes(file: EntityFile) -> bytes:
    raw = file.path.read_bytes()
    if not file.path.name.endswith(".gz"):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise IngestError(
            f"{file.relative_path}: cannot decompress ({exc}); the file is not valid gzip. "
            "Ask the sender to re-deliver it."
        ) from exc


def _csv_header(data: bytes, file: EntityFile) -> list[str]:
    first = data.split(b"\n", 1)[0]
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{file.relative_path}: header is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "the contract requires UTF-8 CSV. Ask the sender to re-deliver it."
        ) from exc
    return next(csv.reader([text.rstrip("\r")]), [])


def _physical_lines(data: bytes, rejected: np.ndarray, good_rows: int,
                    file: EntityFile) -> tuple[pa.Array, np.ndarray]:
    """Start lines of the emitted rows and of the rejected records (DuckDB record numbers)."""
    for locate in (record_start_lines,
                   # fallback for a stray quote or '\r' line ends: walk the file exactly
                   lambda raw: record_start_lines_exact(raw.decode("utf-8-sig", "replace"))):
        starts, blank = locate(data)
        lines = data_row_lines(starts, blank, rejected, good_rows)
        if lines is not None:
            return pa.array(lines, pa.int64()), starts[rejected - 1]
    log.warning("%s: could not align physical line numbers; _source_line left empty",
                file.relative_path)
    return pa.nulls(good_rows, pa.int64()), np.full(len(rejected), None)


def _from_arrow(con: duckdb.DuckDBPyConnection, name: str, data: pa.Table) -> None:
    """Materialise an Arrow table as temp table ``name``."""
    con.register(f"{name}_arrow", data)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    finally:
        con.unregister(f"{name}_arrow")


def _stage_csv(con: duckdb.DuckDBPyConnection, file: EntityFile, entity: Entity,
               table: str) -> StagedFile:
    data = _file_bytes(file)
    header = _csv_header(data, file)
    names = _normalise(header, file)
    _check_header(names, entity, file)
    select, columns = _select_list(names, names, entity)
    types = ", ".join(f"'{name}': 'VARCHAR'" for name in names)
    rejects, scans = f"{table}_rejects", f"{table}_rejects_scan"
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table}_read AS SELECT {select} FROM read_csv(?, "
            f"header = true, auto_detect = false, columns = {{{types}}}, delim = ',', "
            f"quote = '\"', escape = '\"', store_rejects = true, "
            f"rejects_table = '{rejects}', rejects_scan = '{scans}')",
            [str(file.path)],
        )
        # One row per malformed record (DuckDB may report several errors for one record).
        # The reject table holds the raw line text: only the record number and message leave it.
        rejects_found = con.execute(
            f"SELECT line, min(error_type::VARCHAR || ': ' || error_message) "
            f"FROM {rejects} GROUP BY line ORDER BY line").fetchall()
    except duckdb.Error as exc:
        raise IngestError(
            f"{file.relative_path}: cannot be read as CSV ({redact(str(exc))}); "
            "check the file's format and re-deliver it"
        ) from exc
    finally:
        con.execute(f"DROP TABLE IF EXISTS {rejects}")
        con.execute(f"DROP TABLE IF EXISTS {scans}")
    good_rows = con.execute(f"SELECT count(*) FROM {table}_read").fetchall()[0][0]
    rejected = np.array([line for line, _ in rejects_found], dtype=np.int64)
    row_lines, rejected_lines = _physical_lines(data, rejected, good_rows, file)
    # POSITIONAL JOIN pairs the n-th staged row with the n-th line number (both in file order).
    _from_arrow(con, f"{table}_lines", pa.table({"_source_line": row_lines}))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS "
                f"SELECT * FROM {table}_read POSITIONAL JOIN {table}_lines")
    _from_arrow(con, f"{table}_malformed", pa.table({
        "source_line": pa.array(rejected_lines, pa.int64()),
        "bad_value": pa.array([redact(message) for _, message in rejects_found], pa.string()),
    }))
    con.execute(f"DROP TABLE {table}_read")
    con.execute(f"DROP TABLE {table}_lines")
    return StagedFile(file, table, tuple(columns), good_rows + len(rejected), len(rejected))


def _stage_parquet(con: duckdb.DuckDBPyConnection, file: EntityFile, entity: Entity,
                   table: str) -> StagedFile:
    try:
        header = [row[0] for row in con.execute(
            "DESCRIBE SELECT * FROM read_parquet(?)", [str(file.path)]).fetchall()]
    except duckdb.Error as exc:
        raise IngestError(
            f"{file.relative_path}: cannot be read as Parquet ({redact(str(exc))}); "
            "re-deliver a valid file"
        ) from exc
    names = _normalise(header, file)
    _check_header(names, entity, file)
    select, columns = _select_list(header, names, entity)
    # Parquet has no lines: _source_line is the 1-based row number.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {select}, "
        f"file_row_number + 1 AS _source_line "
        f"FROM read_parquet(?, file_row_number = true) ORDER BY file_row_number",
        [str(file.path)],
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_malformed "
                f"(source_line BIGINT, bad_value VARCHAR)")
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    return StagedFile(file, table, tuple(columns), rows, 0)


def stage_file(con: duckdb.DuckDBPyConnection, file: EntityFile, entity: Entity,
               table: str) -> StagedFile:
    """Read ``file`` into temp table ``table``; raises IngestError when it cannot be read."""
    if file.path.name.endswith(".parquet"):
        return _stage_parquet(con, file, entity, table)
    return _stage_csv(con, file, entity, table)
