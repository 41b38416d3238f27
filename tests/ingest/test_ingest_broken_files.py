"""Issue 16 cases 1-3 on a generated landing with one file corrupted: a stray quote costs one
record (named by its line), a wrong encoding / truncated file / manifest mismatch fails that
source's load naming the file and the cause, and the other sources still load."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import query

from xrec.config import Settings
from xrec.ingest import IngestError, ingest_source
from xrec_tools.sample import generate

START, DAYS = date(2024, 5, 1), 3
LAST = START + timedelta(days=DAYS - 1)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "landing"
    generate(out, START, DAYS, 300, 5)
    return out


@pytest.fixture
def landing(generated, tmp_path) -> tuple[Settings, Path]:
    copy = tmp_path / "landing"
    shutil.copytree(generated, copy)
    return Settings.isolated(tmp_path, {"XREC_LANDING": str(copy)}), copy


def _plain_csv(landing: Path, source: str, entity: str) -> Path:
    """The last day's ``entity`` file of ``source`` as plain CSV (un-gzipped if needed)."""
    folder = landing / source / LAST.isoformat()
    path = folder / f"{entity}.csv"
    gz = folder / f"{entity}.csv.gz"
    if gz.exists():
        import gzip

        path.write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    return path


def _records(path: Path) -> int:
    text = path.read_text(encoding="utf-8-sig")
    return sum(1 for _ in csv.reader(io.StringIO(text, newline=""))) - 1


def _loaded(settings: Settings, source: str, entity: str) -> int:
    return query(settings, f'SELECT count(*) FROM raw."{source}__{entity}" WHERE _delivery_date = ?', [LAST])[0][0]


def test_a_stray_quote_costs_one_record_named_by_its_line(landing):
    settings, root = landing
    path = _plain_csv(root, "platform", "events")
    ingest_source(settings, "platform", LAST)
    clean = _loaded(settings, "platform", "events")
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[2].count('"') == 0
    fields = lines[2].split(",")
    fields[1] = '"' + fields[1]  # an opening quote that never closes
    lines[2] = ",".join(fields)
    path.write_text("\n".join(lines), encoding="utf-8")

    ingest_source(settings, "platform", LAST)  # a changed file replaces its partition
    assert _loaded(settings, "platform", "events") == clean - 1
    broken = query(
        settings,
        "SELECT source_line, rule, bad_value FROM raw.quarantine "
        "WHERE entity = 'events' AND delivery_date = ? AND source_line = 3",
        [LAST],
    )
    assert broken and broken[0][1] == "malformed_row"
    assert "line 3" in broken[0][2] and "quote" in broken[0][2]
    # every other row keeps its true physical line
    assert query(
        settings,
        'SELECT min(_source_line), max(_source_line) FROM raw."platform__events" WHERE _delivery_date = ?',
        [LAST],
    )[0] == (2, len(lines) - 1)


def test_a_file_in_another_encoding_fails_its_source_only(landing):
    settings, root = landing
    path = _plain_csv(root, "home", "items")
    path.write_bytes(path.read_text(encoding="utf-8-sig").encode("gbk", errors="replace"))

    with pytest.raises(IngestError, match=r"home/2024-05-03/items\.csv: not UTF-8") as error:
        ingest_source(settings, "home", LAST)
    assert "GBK" in str(error.value)
    assert query(
        settings, "SELECT count(*) FROM raw.load_audit WHERE source = 'home' AND delivery_date = ?", [LAST]
    ) == [(0,)]
    assert ingest_source(settings, "realty", LAST).rows_loaded["items"] > 0


def test_a_file_cut_mid_row_fails_as_truncated(landing):
    settings, root = landing
    path = _plain_csv(root, "finance", "interactions")
    data = path.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 8  # a few bytes into a row
    path.write_bytes(data[:cut])

    with pytest.raises(
        IngestError,
        match=r"finance/2024-05-03/interactions\.csv: ends in the "
        r"middle of a record on line \d+.*truncated",
    ):
        ingest_source(settings, "finance", LAST)
    assert query(
        settings, "SELECT count(*) FROM raw.load_audit WHERE source = 'finance' AND delivery_date = ?", [LAST]
    ) == [(0,)]


def _write_manifest(folder: Path, **override: dict) -> None:
    files = {}
    for path in sorted(folder.iterdir()):
        if path.name == "_SUCCESS":
            continue
        entry = {"rows": _records(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        files[path.name] = {**entry, **override.get(path.name, {})}
    (folder / "_SUCCESS").write_text(json.dumps({"files": files}), encoding="utf-8")


def test_a_manifest_is_checked_and_an_empty_marker_stays_valid(landing):
    settings, root = landing
    folder = root / "automod" / LAST.isoformat()
    path = _plain_csv(root, "automod", "interactions")
    for gz in folder.glob("*.gz"):  # _records reads plain text
        _plain_csv(root, "automod", gz.name.removesuffix(".csv.gz"))
    _write_manifest(folder)
    assert ingest_source(settings, "automod", LAST).rows_loaded["interactions"] > 0

    # cut at a row boundary: only the manifest can tell
    rows = _records(path)
    lines = path.read_text(encoding="utf-8").split("\n")
    path.write_text("\n".join(lines[: len(lines) // 2]) + "\n", encoding="utf-8")
    _write_manifest(folder, **{"interactions.csv": {"rows": rows, "sha256": None}})
    with pytest.raises(
        IngestError,
        match=r"automod/2024-05-03/interactions\.csv: \d+ data rows "
        r"read but the _SUCCESS manifest says \d+",
    ):
        ingest_source(settings, "automod", LAST)
    _write_manifest(folder, **{"interactions.csv": {"sha256": "0" * 64}})
    with pytest.raises(
        IngestError,
        match=r"interactions\.csv: sha256 .* disagrees with the "
        r"_SUCCESS manifest",
    ):
        ingest_source(settings, "automod", LAST)

    (folder / "_SUCCESS").write_text("", encoding="utf-8")  # v1 marker: loads what is there
    assert ingest_source(settings, "automod", LAST).files_loaded == 1
