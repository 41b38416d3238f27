"""Physical line numbers of CSV records, so quarantine and raw rows point into the file.

DuckDB's reader numbers records (its reject table's ``line`` is the 1-based record number,
blank lines included) but not physical lines, and records may span lines (quoted newlines).
We locate record boundaries ourselves: a newline ends a record when an even number of quote
characters precede it (RFC 4180 escapes quotes by doubling them, which keeps the parity).
"""
from __future__ import annotations

import csv
import io

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
