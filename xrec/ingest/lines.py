"""Physical line numbers of CSV records, so quarantine and raw rows point into the file.

DuckDB's reader numbers records (its reject table's ``line`` is the 1-based record number,
blank lines included) but not physical lines, and records may span lines (quoted newlines).
We locate record boundaries ourselves: a newline ends a record when an even number of quote
characters precede it (RFC 4180 escapes quotes by doubling them, which keeps the parity).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Literal

import numpy as np

_NEWLINE, _QUOTE, _CR = 10, 34, 13


def record_start_lines(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(start line, is blank) of every record, header first, vectorised over the file bytes.

    Line numbers are 1-based physical lines; blank lines are records of their own (DuckDB counts
    them in its record numbers but emits no row for them).
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == _NEWLINE)
    quotes = np.flatnonzero(buf == _QUOTE)
    ends = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [len(buf)]))
    if starts[-1] >= len(buf):  # the file ends with a newline: no record after it
        starts, stops = starts[:-1], stops[:-1]
    # Line of a record = 1 + newlines before its start.
    lines = np.searchsorted(newlines, starts) + 1
    length = stops - starts
    last = buf[np.maximum(stops - 1, 0)] if len(buf) else np.zeros(0, np.uint8)
    blank = (length == 0) | ((length == 1) & (last == _CR))
    return lines.astype(np.int64), blank


def record_start_lines_exact(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The same as :func:`record_start_lines` via Python's csv parser.

    Only the fallback for files the parity rule misreads (a stray quote inside an unquoted
    field, old-Mac ``\\r`` line ends): it walks the file record by record.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    lines, blank, previous = [], [], 0
    for row in reader:
        lines.append(previous + 1)
        blank.append(not row)
        previous = reader.line_num
    return np.asarray(lines, dtype=np.int64), np.asarray(blank, dtype=bool)


def data_row_lines(
    starts: np.ndarray, blank: np.ndarray, rejected_records: np.ndarray, good_rows: int
) -> np.ndarray | None:
    """Start lines of the rows DuckDB emitted, in order; None when the counts disagree.

    ``rejected_records`` are DuckDB's 1-based record numbers of malformed rows (header = 1).
    """
    keep = ~blank
    keep[:1] = False  # the header
    rejected = rejected_records[(rejected_records >= 1) & (rejected_records <= len(keep))] - 1
    keep[rejected.astype(np.int64)] = False
    lines = starts[keep]
    return lines if len(lines) == good_rows else None


# A quoted field may hold newlines, but no real title spans this many lines: a record that
# would is an unclosed quote swallowing the file (issue 16, case 1).
MAX_RECORD_LINES = 20


@dataclass(frozen=True)
class BoundedParse:
    """Records of a CSV text split so that one broken record costs only its own line."""

    rows: list[list[str]]  # data records (header excluded), each with the header's field count
    lines: list[int]  # physical start line of each row
    malformed: list[tuple[int, str]]  # (physical line, what is wrong with it)


def one_record(chunk: str) -> list[str] | Literal[False] | None:
    """The fields of ``chunk`` when it is exactly one complete record; False while a quoted
    field is still open at its end; None when it parses to something else."""
    reader = csv.reader(io.StringIO(chunk, newline=""), strict=True)
    try:
        rows = list(reader)
    except csv.Error as exc:
        return False if "unexpected end of data" in str(exc) else None
    return rows[0] if len(rows) == 1 else None


def bounded_parse(text: str, n_fields: int, max_lines: int = MAX_RECORD_LINES) -> BoundedParse:
    """Parse ``text`` (header on line 1) record by record, never letting one record run past
    ``max_lines`` physical lines or take a wrong field count.

    A record that does not close within ``max_lines`` lines, or closes with a field count other
    than the header's, is reported as malformed on its first line only; parsing resumes on the
    next line. So a stray quote costs one record, not the rest of the file.
    """
    # Physical lines end at '\n' only (str.splitlines would also split on '\r', '\u2028' ...).
    physical = [line + "\n" for line in text.split("\n")]
    physical[-1] = physical[-1][:-1]
    rows, starts, malformed = [], [], []
    i = 1  # skip the header
    while i < len(physical):
        if not physical[i].strip("\r\n"):
            i += 1
            continue
        if '"' not in physical[i]:  # no quoting on the line: a plain split is the CSV parse
            fields = physical[i].rstrip("\n").removesuffix("\r").split(",")
            if len(fields) == n_fields:
                rows.append(fields)
                starts.append(i + 1)
            else:
                malformed.append((i + 1, f"line {i + 1}: expected {n_fields} fields, found {len(fields)}"))
            i += 1
            continue
        verdict, end = None, i
        for end in range(i, min(i + max_lines, len(physical))):
            verdict = one_record("".join(physical[i : end + 1]))
            if verdict is not False:
                break
        if verdict and len(verdict) == n_fields:
            rows.append(verdict)
            starts.append(i + 1)
            i = end + 1
            continue
        if verdict is False:
            reason = (
                f"unclosed quote: the record starting on line {i + 1} does not end within "
                f"{max_lines} lines or before the end of the file"
            )
        else:
            found = len(verdict) if verdict else "an unparseable number of"
            reason = f"line {i + 1}: expected {n_fields} fields, found {found}"
        malformed.append((i + 1, reason))
        i += 1
    return BoundedParse(rows, starts, malformed)
