"""On a small generated sample: exactly the planted violations are quarantined, with their rule
and line, and a corrected re-delivery replaces its original."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import query

from xrec.config import Settings
from xrec.ingest import ingest_source
from xrec_tools import sample

START, DAYS = date(2024, 5, 1), 4


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample") / "landing"
    manifest = sample.generate(out, START, DAYS, 400, 11)
    return out, json.loads(Path(manifest).read_text(encoding="utf-8"))


def _settings(tmp_path: Path, landing: Path) -> Settings:
    return Settings.isolated(tmp_path, {"XREC_LANDING": str(landing)})


def test_quarantine_holds_exactly_the_planted_violations(generated, tmp_path):
    landing, manifest = generated
    settings = _settings(tmp_path, landing)
    for source in settings.sources:
        ingest_source(settings, source, START + timedelta(days=DAYS - 1))
    planted = sorted((v["file"], v["line"], v["rule"]) for v in manifest["planted"]["violations"])
    assert {rule for _, _, rule in planted} >= {"malformed_row", "required:user_id"}
    assert query(settings, "SELECT source_file, source_line, rule FROM raw.quarantine ORDER BY ALL") == planted
    files = {f["file"]: f["records"] for f in manifest["files"]}
    assert dict(query(settings, "SELECT path, rows_read FROM raw.load_audit")) == files


def test_corrected_redelivery_replaces_the_original(generated, tmp_path):
    landing, manifest = generated
    copy = tmp_path / "landing"
    shutil.copytree(landing, copy)
    redelivery = manifest["redeliveries"][0]
    corrected = copy / Path(redelivery["landing"]).relative_to("landing")
    shutil.rmtree(corrected)
    shutil.copytree(landing.parent / redelivery["superseded"], corrected)
    settings = _settings(tmp_path, copy)
    source, day = redelivery["source"], date.fromisoformat(redelivery["date"])
    ingest_source(settings, source, day)
    shutil.rmtree(corrected)
    shutil.copytree(landing.parent / redelivery["landing"], corrected)
    ingest_source(settings, source, day)
    for entity, counts in redelivery["records"].items():
        assert query(
            settings,
            "SELECT rows_read FROM raw.load_audit WHERE source = ? AND entity = ? AND delivery_date = ?",
            [source, entity, day],
        ) == [(counts["landing"],)]
        loaded = query(settings, f"SELECT count(*) FROM raw.{source}__{entity} WHERE _delivery_date = ?", [day])[0][0]
        quarantined = query(
            settings,
            "SELECT count(*) FROM raw.quarantine WHERE source = ? AND entity = ? AND delivery_date = ?",
            [source, entity, day],
        )[0][0]
        assert loaded + quarantined == counts["landing"]
