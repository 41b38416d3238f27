import hashlib
import hmac
import json
import pickle
import re
from datetime import date

import duckdb
import pandas as pd
import pytest

from xrec.privacy.keys import new_keys, write_keys_file
from xrec.publish import publish
from xrec.publish.exports import ExportsFailed, export_dir

D1 = date(2026, 3, 1)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PHONE = re.compile(r"(?<![0-9a-f])\+?\d{11,15}(?![0-9a-f])")


def _published(settings, warehouse):
    warehouse(D1, "v1")
    return publish(settings, D1)


def _secret(settings, partner: str) -> tuple[str, bytes]:
    entry = json.loads(settings.export_keys_file.read_text())["partners"][partner]
    return entry["active"], bytes.fromhex(entry["keys"][entry["active"]])


def _hmac(secret: bytes, user_id: str) -> str:
    return hmac.new(secret, f"platform_user:{user_id}".encode(), hashlib.sha256).hexdigest()


def test_partners_get_their_customers_consented_leads_and_counts_only(settings, warehouse):
    summary = _published(settings, warehouse)
    assert set(summary.exports) == {"realty", "finance"}
    consented = {"realty": ["u2", "u3"], "finance": ["u3"]}
    for partner in ("realty", "finance"):
        folder = export_dir(settings, partner, D1)
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            [
                f"{stem}.{fmt}"
                for stem in ("courses_for_customers", "leads", "audience_counts")
                for fmt in ("csv", "parquet")
            ]
            + ["manifest.json"]
        )
        courses = pd.read_csv(folder / "courses_for_customers.csv", dtype=str)
        assert list(courses.columns) == [
            "customer_id",
            "course_id",
            "rank",
            "score",
            "variant",
            "model_version",
            "reason",
        ]
        assert len(courses) == 8 and courses["customer_id"].str.startswith(f"{partner[0]}-c").all()

        leads = pd.read_parquet(folder / "leads.parquet")
        assert list(leads.columns) == ["lead_id", "item_id", "rank", "score", "variant"]
        assert leads["item_id"].str.startswith(f"{partner[0]}-i").all()
        # exactly the consenting users, 3 items each, keyed by HMAC under this partner's key
        _, secret = _secret(settings, partner)
        assert set(leads["lead_id"]) == {_hmac(secret, user) for user in consented[partner]}
        assert len(leads) == 3 * len(consented[partner])


def test_pseudonyms_differ_per_partner_and_are_not_bare_hashes(settings, warehouse):
    _published(settings, warehouse)
    realty = set(pd.read_parquet(export_dir(settings, "realty", D1) / "leads.parquet")["lead_id"])
    finance = set(pd.read_parquet(export_dir(settings, "finance", D1) / "leads.parquet")["lead_id"])
    assert len(finance) == 1 and not realty & finance  # u3 is a lead of both, under different ids
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        hashes = {
            h
            for row in con.execute("select email_sha256, phone_sha256 from marts.ml_recipients").fetchall()
            for h in row
            if h
        }
    candidates = hashes | {hashlib.sha256(f"u{i}".encode()).hexdigest() for i in range(1, 9)}
    assert not (realty | finance) & candidates


def test_audience_counts_hold_only_groups_at_or_above_the_minimum(settings, warehouse):
    _published(settings, warehouse)
    folder = export_dir(settings, "realty", D1)
    counts = pd.read_csv(folder / "audience_counts.csv")
    assert list(counts.columns) == ["breakdown", "item_id", "city", "segment_id", "recipients"]
    assert (counts["recipients"] >= settings.min_audience).all()
    # an independent count of the same groups from the published recommendations
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        recs = con.execute(
            "select c.recipient_id, c.item_id, d.city, d.segment_id from main.cross_recommendations c "
            "join marts.dim_person d using (person_id) where partner = 'realty' "
            "and direction = 'platform_to_partner'"
        ).df()
    per_item = recs.groupby("item_id")["recipient_id"].nunique()
    per_segment = recs.groupby(["item_id", "segment_id"])["recipient_id"].nunique()
    per_city = recs.groupby(["item_id", "city"])["recipient_id"].nunique()
    kept = {
        "item": per_item[per_item >= 2],
        "item_segment": per_segment[per_segment >= 2],
        "item_city": per_city[per_city >= 2],
    }
    for breakdown, series in kept.items():
        assert sorted(counts.loc[counts["breakdown"] == breakdown, "recipients"]) == sorted(series)
    suppressed = sum(int((s < 2).sum()) for s in (per_item, per_segment, per_city))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert suppressed > 0
    assert manifest["withheld"][1]["groups"] == suppressed
    # u1 and u4..u8 did not consent to realty: 6 recipients, 18 recommendations kept back
    assert (manifest["withheld"][0]["recipients"], manifest["withheld"][0]["recommendations"]) == (6, 18)


def test_exports_hold_no_platform_user_ids_or_contact_data(settings, warehouse):
    _published(settings, warehouse)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        hashes = {
            h
            for row in con.execute("select email_sha256, phone_sha256 from marts.ml_recipients").fetchall()
            for h in row
            if h
        }
    for path in settings.exports.rglob("*.csv"):
        text = path.read_text(encoding="utf-8")
        assert not EMAIL.search(text), path
        assert not PHONE.search(text), path
        assert not re.search(r"\bu\d+\b", text), f"platform user_id in {path}"
        assert not any(h in text for h in hashes), f"contact hash in {path}"


def test_manifest_lists_files_key_id_and_checksums(settings, warehouse):
    _published(settings, warehouse)
    folder = export_dir(settings, "finance", D1)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model_version"] == "v1" and manifest["run_date"] == "2026-03-01"
    assert manifest["pseudonym"]["key_id"] == _secret(settings, "finance")[0]
    assert manifest["min_audience"] == settings.min_audience
    for entry in manifest["files"]:
        path = folder / entry["name"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        frame = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
        assert len(frame) == entry["rows"]
    assert not list(settings.exports.rglob("*.tmp"))


def test_republishing_rewrites_identical_exports_and_drops_stale_files(settings, warehouse):
    _published(settings, warehouse)
    folder = export_dir(settings, "realty", D1)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    (folder / "platform_audience.csv").write_text("email_sha256\n" + "a" * 64 + "\n")  # v1 export
    publish(settings, D1)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_a_partner_without_key_fails_alone_and_by_name(settings, warehouse):
    write_keys_file(settings.export_keys_file, new_keys(["realty"]))  # finance has no key
    warehouse(D1, "v1")
    with pytest.raises(ExportsFailed, match=r"finance.*XREC_EXPORT_KEYS_FILE") as failure:
        publish(settings, D1)
    assert set(failure.value.written) == {"realty"} and set(failure.value.failures) == {"finance"}
    assert (export_dir(settings, "realty", D1) / "manifest.json").exists()
    assert not (export_dir(settings, "finance", D1) / "manifest.json").exists()
    # The error reaches a parent process (an Airflow or benchmark task's) whole, not as a TypeError.
    carried = pickle.loads(pickle.dumps(failure.value))
    assert str(carried) == str(failure.value) and carried.failures == failure.value.failures
