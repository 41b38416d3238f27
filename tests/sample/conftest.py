"""Shared fixtures: one small generated sample per session, and a record reader for it."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import date
from pathlib import Path

import pytest

from xrec_tools.sample import generate

START = date(2026, 11, 1)


class Sample:
    """A generated landing folder with its manifest."""

    def __init__(self, out: Path, manifest_path: Path):
        self.out = out
        self.manifest_path = manifest_path
        self.manifest = json.loads(manifest_path.read_text(encoding="utf-8"))

    def truth(self, name: str) -> Path:
        truth = self.manifest["truth"]
        return self.manifest_path.parent / truth["folder"] / truth["tables"][name]

    def text(self, relative: str | Path, root: Path | None = None) -> str:
        raw = ((root or self.out) / relative).read_bytes()
        if str(relative).endswith(".gz"):
            raw = gzip.decompress(raw)
        return raw.decode("utf-8-sig")

    def records(self, relative: str | Path, root: Path | None = None) -> tuple[list[str], list[tuple[int, list[str]]]]:
        """(header, [(physical start line, fields)]) parsed as RFC 4180."""
        reader = csv.reader(io.StringIO(self.text(relative, root), newline=""))
        header = next(reader)
        rows, last_line = [], reader.line_num
        for fields in reader:
            rows.append((last_line + 1, fields))
            last_line = reader.line_num
        return header, rows

    def files(self, entity: str | None = None) -> list[dict]:
        return [f for f in self.manifest["files"] if entity in (None, f["entity"])]


@pytest.fixture(scope="session")
def sample(tmp_path_factory) -> Sample:
    out = tmp_path_factory.mktemp("sample") / "landing"
    return Sample(out, generate(out, START, days=5, users=1500, seed=11))
