"""The generator's manifest: parameters, per-file counts, every planted record, and the truth.

Written outside the landing folder (``<out>_manifest.json``) with large truth tables as Parquet
in ``<out>_truth/``, so loaders never see them but tests and evaluations can.

Keys: ``parameters``; ``dates``; ``dirt_rates``; ``files`` (one per (source, entity, date):
landing-relative ``file``, ``records`` incl. dirt, ``quarantined`` = rows the loader must reject,
``duplicate_copies``, ``resent``, ``malformed`` and value-dirt counts); ``planted.violations``
(source, entity, date, file, ``line`` = physical start line with the header on line 1,
``record_id`` (null when the id itself is missing; then ``original_id``), ``rule``);
``planted.duplicates`` (``lines`` of both copies); ``planted.resent`` (``line``, ``first_date``);
``redeliveries`` (superseded and landing folders relative to the manifest, record counts);
``truth`` (Parquet tables ``planted_topics``, ``identity_links``, ``items`` in ``truth.folder``,
``overlap`` per partner, ``linked_share``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


def manifest_path(out: Path) -> Path:
    return out.parent / f"{out.name}_manifest.json"


def truth_dir(out: Path) -> Path:
    return out.parent / f"{out.name}_truth"


def superseded_dir(out: Path) -> Path:
    return out.parent / f"{out.name}_superseded"


@dataclass
class Manifest:
    """Accumulates what the generator wrote; ``write`` dumps it as JSON."""

    parameters: dict
    dirt_rates: dict
    dates: list[str] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)
    violations: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    resent: list[dict] = field(default_factory=list)
    redeliveries: list[dict] = field(default_factory=list)
    truth: dict = field(default_factory=dict)

    def write(self, path: Path) -> Path:
        payload = {
            "contract_version": 1,
            "parameters": self.parameters,
            "dates": self.dates,
            "dirt_rates": self.dirt_rates,
            "files": self.files,
            "planted": {"violations": self.violations, "duplicates": self.duplicates, "resent": self.resent},
            "redeliveries": self.redeliveries,
            "truth": self.truth,
        }
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path


def write_truth_table(directory: Path, name: str, frame: pd.DataFrame) -> str:
    """Write a truth table as Parquet; returns its file name (relative to the truth folder)."""
    directory.mkdir(parents=True, exist_ok=True)
    file_name = f"{name}.parquet"
    frame.to_parquet(directory / file_name, index=False)
    return file_name
