"""Write one extract file (CSV, optionally with a BOM or gzipped) and report record line numbers.

Line numbers are physical, 1-based, with the header on line 1, so a record whose title holds an
embedded newline spans two lines and pushes every later record down by one.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class FileFormat:
    bom: bool = False
    gzip: bool = False

    @property
    def suffix(self) -> str:
        return ".csv.gz" if self.gzip else ".csv"


def _record_lines(frame: pd.DataFrame) -> np.ndarray:
    """Physical lines each record spans: 1 + embedded newlines in any of its fields."""
    lines = np.ones(len(frame), dtype=np.int64)
    for column in frame.columns:
        values = frame[column].astype(str).tolist()
        if "".join(values).count("\n"):  # cheap whole-column test; per-row counts only if needed
            lines += np.fromiter((v.count("\n") for v in values), dtype=np.int64, count=len(values))
    return lines


def write_csv(
    path: Path, frame: pd.DataFrame, fmt: FileFormat, raw_lines: Sequence[tuple[int, str]] = ()
) -> tuple[np.ndarray, list[int]]:
    """Write ``frame`` (string cells) atomically, ``raw_lines`` inserted verbatim before the
    given row positions. Returns (start line per frame row, start line per raw line)."""
    raw_lines = sorted(raw_lines)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as binary:
        # mtime=0 and no file name keep gzip output byte-identical across runs
        stream = gzip.GzipFile(filename="", mode="wb", fileobj=binary, mtime=0, compresslevel=6) if fmt.gzip else binary
        with io.TextIOWrapper(stream, encoding="utf-8-sig" if fmt.bom else "utf-8", newline="") as text:
            frame.iloc[:0].to_csv(text, index=False, lineterminator="\n")
            cut = 0
            for position, line in [*raw_lines, (len(frame), None)]:
                frame.iloc[cut:position].to_csv(text, index=False, header=False, lineterminator="\n")
                if line is not None:
                    text.write(line + "\n")
                cut = position
    os.replace(tmp, path)

    lines = _record_lines(frame)
    before = np.concatenate([[0], np.cumsum(lines)[:-1]]) if len(frame) else lines
    raw_positions = np.array([p for p, _ in raw_lines], dtype=np.int64)
    starts = 2 + before + np.searchsorted(raw_positions, np.arange(len(frame)), side="right")
    raw_starts = [int(2 + lines[:p].sum() + i) for i, (p, _) in enumerate(raw_lines)]
    return starts, raw_starts
