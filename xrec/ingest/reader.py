"""Read one delivered file into a temporary staging table, PII already hashed.

CSV goes through DuckDB's own reader (all VARCHAR, RFC 4180 quoting, BOM tolerated) with
``store_rejects`` so malformed records are collected, not fatal; Parquet through
``read_parquet``. Raw ``email``/``phone`` are normalised and hashed in the very SELECT that reads
the file, so they never land in a table. The staging table holds the data columns (names
trimmed, lower-cased) plus ``_source_line``; malformed records go to ``<table>_malformed``
(``source_line``, ``bad_value``).

A file is judged whole before its rows count (issue 16): one that is mostly not UTF-8, that
ends in the middle of a record, or whose records are mostly malformed fails with an
IngestError naming it. A stray quote that makes DuckDB read the rest of the file as one field
switches to a line-bounded parse (:func:`xrec.ingest.lines.bounded_parse`) in which the broken
record costs only its own line.
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
from xrec.ingest.lines import (
    bounded_parse,
    data_row_lines,
    one_record,
    record_start_lines,
    record_start_lines_exact,
)

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


# A file whose records are mostly unreadable is not a file with some dirt: it is the wrong
# file (another encoding, another format), and loading its few readable rows would be a loss.
MALFORMED_FILE_SHARE = 0.5


def _check_encoding(data: bytes, file: EntityFile) -> None:
    """IngestError when most lines are not UTF-8 (e.g. a GBK export); a few bad lines are
    left to the per-record quarantine."""
    try:
        data.decode("utf-8")
        return
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    bad = []
    for number, line in enumerate(lines, start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(number)
    if len(bad) >= MALFORMED_FILE_SHARE * len([line for line in lines if line.strip()]):
        raise IngestError(
            f"{file.relative_path}: not UTF-8 text: {len(bad):,} of {len(lines):,} lines fail to "
            f"decode (first on line {bad[0]}); the contract requires UTF-8 CSV (was it exported "
            "as GBK/GB18030?). Nothing of this source was loaded; ask the sender to re-deliver "
            "the file in UTF-8."
        )


def _check_complete(data: bytes, starts: np.ndarray, n_fields: int, file: EntityFile) -> None:
    """IngestError when the file ends inside a record (cut mid-row: a truncated transfer).

    A last record without a newline is valid RFC 4180 when it is whole, so only an open quote
    or a short field count at the very end is taken as truncation."""
    if not data or data.endswith(b"\n"):
        return
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    last_line = len(newlines) + 1
    first = int(starts[-1]) if len(starts) else last_line
    for begin in sorted({last_line, first}, reverse=True):
        offset = 0 if begin == 1 else int(newlines[begin - 2]) + 1
        fields = one_record(data[offset:].decode("utf-8-sig", "replace"))
        if fields and len(fields) == n_fields:
            return
    raise IngestError(
        f"{file.relative_path}: ends in the middle of a record on line {last_line} (no final "
        f"newline and an incomplete last row): the file looks truncated. Nothing of this "
        "source was loaded; ask the sender to re-deliver the complete file."
    )


def _check_mostly_malformed(staged: StagedFile, first: tuple[int, str] | None) -> None:
    if staged.rows_read and staged.rows_malformed > MALFORMED_FILE_SHARE * staged.rows_read:
        where = f" (first on line {first[0]}: {first[1]})" if first else ""
        raise IngestError(
            f"{staged.file.relative_path}: {staged.rows_malformed:,} of {staged.rows_read:,} "
            f"records are malformed{where}; the file does not look like the contract's CSV. "
            "Nothing of this source was loaded; ask the sender to re-deliver it."
        )


def _physical_lines(
    data: bytes, starts: np.ndarray, blank: np.ndarray, rejected: np.ndarray, good_rows: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Start lines of the emitted rows and of the rejected records (DuckDB record numbers);
    None when they cannot be aligned with DuckDB's records."""
    for located in (
        (starts, blank),
        # a stray quote inside an unquoted field or '\r' line ends: walk exactly
        lambda: record_start_lines_exact(data.decode("utf-8-sig", "replace")),
    ):
        record_starts, record_blank = located() if callable(located) else located
        lines = data_row_lines(record_starts, record_blank, rejected, good_rows)
        if lines is not None:
            return lines, record_starts[rejected - 1]
    return None


def _swallowing(starts: np.ndarray, rejected: np.ndarray, messages: list[str], total_lines: int) -> bool:
    """True when a rejected record spans several physical lines or holds an unterminated
    quote: DuckDB then read good lines into one broken field, and they would be lost."""
    if any("unterminated quote" in message for message in messages):
        return True
    ends = np.concatenate((starts[1:], [total_lines + 1]))
    index = rejected[(rejected >= 1) & (rejected <= len(starts))] - 1
    return bool(np.any(ends[index] - starts[index] > 1))


def _from_arrow(con: duckdb.DuckDBPyConnection, name: str, data: pa.Table) -> None:
    """Materialise an Arrow table as temp table ``name``."""
    con.register(f"{name}_arrow", data)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    finally:
        con.unregister(f"{name}_arrow")


def _stage_csv(con: duckdb.DuckDBPyConnection, file: EntityFile, entity: Entity, table: str) -> StagedFile:
    data = _file_bytes(file)
    _check_encoding(data, file)
    header = _csv_header(data, file)
    names = _normalise(header, file)
    _check_header(names, entity, file)
    starts, blank = record_start_lines(data)
    _check_complete(data, starts, len(names), file)
    select, columns = _select_list(names, names, entity)
    rejects_found = _duckdb_read(con, file, names, select, table)
    good_rows = con.execute(f"SELECT count(*) FROM {table}_read").fetchall()[0][0]
    rejected = np.array([line for line, _ in rejects_found], dtype=np.int64)
    messages = [message for _, message in rejects_found]
    total_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    aligned = (
        None
        if _swallowing(starts, rejected, messages, total_lines)
        else _physical_lines(data, starts, blank, rejected, good_rows)
    )
    if aligned is None:
        # A record swallowed lines (stray quote) or the records cannot be aligned: parse line
        # by line so one broken record costs one line, and every row keeps its true line.
        parsed = bounded_parse(data.decode("utf-8-sig", "replace"), len(names))
        log.warning(
            "%s: DuckDB's CSV reader lost lines to a broken record; re-read line by line: %d rows, %d malformed (%s)",
            file.relative_path,
            len(parsed.rows),
            len(parsed.malformed),
            "; ".join(message for _, message in parsed.malformed[:3]),
        )
        _from_arrow(
            con,
            f"{table}_raw",
            pa.table({name: pa.array([row[i] for row in parsed.rows], pa.string()) for i, name in enumerate(names)}),
        )
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_read AS SELECT {select} FROM {table}_raw")
        con.execute(f"DROP TABLE {table}_raw")
        good_rows = len(parsed.rows)
        row_lines = np.asarray(parsed.lines, dtype=np.int64)
        rejected_lines = np.asarray([line for line, _ in parsed.malformed], dtype=np.int64)
        messages = [message for _, message in parsed.malformed]
    else:
        row_lines, rejected_lines = aligned
    # POSITIONAL JOIN pairs the n-th staged row with the n-th line number (both in file order).
    _from_arrow(con, f"{table}_lines", pa.table({"_source_line": pa.array(row_lines, pa.int64())}))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {table}_read POSITIONAL JOIN {table}_lines")
    _from_arrow(
        con,
        f"{table}_malformed",
        pa.table(
            {
                "source_line": pa.array(rejected_lines, pa.int64()),
                "bad_value": pa.array([redact(message) for message in messages], pa.string()),
            }
        ),
    )
    con.execute(f"DROP TABLE {table}_read")
    con.execute(f"DROP TABLE {table}_lines")
    staged = StagedFile(file, table, tuple(columns), good_rows + len(messages), len(messages))
    _check_mostly_malformed(staged, (int(rejected_lines[0]), redact(messages[0])) if messages else None)
    return staged


def _duckdb_read(
    con: duckdb.DuckDBPyConnection, file: EntityFile, names: list[str], select: str, table: str
) -> list[tuple[int, str]]:
    """Read the CSV into ``<table>_read``; (DuckDB record number, message) per malformed record."""
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
        return con.execute(
            f"SELECT line, min(error_type::VARCHAR || ': ' || error_message) FROM {rejects} GROUP BY line ORDER BY line"
        ).fetchall()
    except duckdb.Error as exc:
        raise IngestError(
            f"{file.relative_path}: cannot be read as CSV ({redact(str(exc))}); "
            "check the file's format and re-deliver it"
        ) from exc
    finally:
        con.execute(f"DROP TABLE IF EXISTS {rejects}")
        con.execute(f"DROP TABLE IF EXISTS {scans}")


def _stage_parquet(con: duckdb.DuckDBPyConnection, file: EntityFile, entity: Entity, table: str) -> StagedFile:
    try:
        header = [row[0] for row in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(file.path)]).fetchall()]
    except duckdb.Error as exc:
        raise IngestError(
            f"{file.relative_path}: cannot be read as Parquet ({redact(str(exc))}); re-deliver a valid file"
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
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_malformed (source_line BIGINT, bad_value VARCHAR)")
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    return StagedFile(file, table, tuple(columns), rows, 0)


def stage_file(con: duckdb.DuckDBPyConnection, file: EntityFile, entity: Entity, table: str) -> StagedFile:
    """Read ``file`` into temp table ``table``; raises IngestError when it cannot be read."""
    if file.path.name.endswith(".parquet"):
        return _stage_parquet(con, file, entity, table)
    return _stage_csv(con, file, entity, table)
