import hashlib
import json
import re
from datetime import date

import pandas as pd

from xrec.publish import publish
from xrec.publish.exports import export_dir

D1 = date(2026, 3, 1)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PHONE = re.compile(r"(?<![0-9a-f])\+?\d{11,15}(?![0-9a-f])")


def _published(settings, warehouse):
    warehouse(D1, "v1")
    return publish(settings, D1)


def test_each_partner_gets_only_its_own_customers_and_items(settings, warehouse):
    summary = _published(settings, warehouse)
    assert set(summary.exports) == {"realty", "finance"}
    for partner in ("realty", "finance"):
        folder = export_dir(settings, partner, D1)
        courses = pd.read_csv(folder / "courses_for_customers.csv", dtype=str)
        assert list(courses.columns) == [
            "customer_id", "course_id", "rank", "score", "variant", "model_version", "reason"
        ]
        assert len(courses) == 8 and courses["customer_id"].str.startswith(f"{partner[0]}-c").all()
        assert courses["course_id"].str.match(r"c\d+$").all()

        audience = pd.read_parquet(folder / "platform_audience.parquet")
        assert list(audience.columns) == ["email_sha256", "phone_sha256", "item_id", "rank", "score", "variant"]
        assert audience["item_id"].str.startswith(f"{partner[0]}-i").all()
        # u1..u7 have a hash, u8 has none and cannot be matched: 7 users x 3 items
        assert len(audience) == 21
        assert audience["email_sha256"].str.fullmatch(r"[0-9a-f]{64}").all()


def test_exports_hold_no_platform_user_ids_or_raw_contact_data(settings, warehouse):
    _published(settings, warehouse)
    for path in settings.exports.rglob("*.csv"):
        text = path.read_text(encoding="utf-8")
        assert not EMAIL.search(text), path
        assert not PHONE.search(text), path
        assert not re.search(r"\bu\d+\b", text), f"platform user_id in {path}"


def test_manifest_lists_files_with_matching_counts_and_checksums(settings, warehouse):
    _published(settings, warehouse)
    folder = export_dir(settings, "finance", D1)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model_version"] == "v1" and manifest["run_date"] == "2026-03-01"
    assert {f["name"] for f in manifest["files"]} == {
        "courses_for_customers.csv", "courses_for_customers.parquet",
        "platform_audience.csv", "platform_audience.parquet",
    }
    for entry in manifest["files"]:
        path = folder / entry["name"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        frame = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
        assert len(frame) == entry["rows"]
    assert not list(settings.exports.rglob("*.tmp"))


def test_republishing_rewrites_identical_exports(settings, warehouse):
    _published(settings, warehouse)
    folder = export_dir(settings, "realty", D1)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    publish(settings, D1)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
