"""The generated landing folder honours shared/CONTRACT.md, and the manifest tells the truth."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pandas as pd

from xrec.config import PROJECT_ROOT

CONTRACT_COLUMNS = {
    "users": [
        "user_id",
        "email",
        "phone",
        "city",
        "birth_year",
        "gender",
        "signup_at",
        "interests",
        "updated_at",
        "share_with",
    ],  # share_with: optional (CONTRACT.md v2)
    "deletions": ["user_id", "requested_at"],  # optional entity (v2)
    "courses": [
        "course_id",
        "title",
        "category",
        "tags",
        "price",
        "instructor",
        "published_at",
        "is_active",
        "updated_at",
    ],
    "events": ["event_id", "user_id", "course_id", "event_type", "rating", "amount", "occurred_at"],
    "customers": ["customer_id", "email_sha256", "phone_sha256", "city", "birth_year", "updated_at"],
    "items": ["item_id", "title", "category", "price", "city", "is_active", "updated_at"],
    "interactions": ["interaction_id", "customer_id", "item_id", "event_type", "amount", "occurred_at"],
}
VERTICAL = {
    "realty": ["district", "area_sqm", "bedrooms", "listing_type"],
    "finance": ["product_type", "risk_level", "expected_return_pct", "min_investment"],
    "home": ["style", "room"],
    "automod": ["brand", "car_model", "part_type"],
}
ENTITIES = {"platform": ["users", "courses", "events"]}
EVENT_TYPES = {
    "events": {"view", "purchase", "complete", "rate"},
    "interactions": {"view", "inquiry", "favorite", "purchase"},
}
TAXONOMY = PROJECT_ROOT / "dbt_project" / "seeds" / "topic_taxonomy.csv"
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\+08:00)?$")


def expected_columns(source: str, entity: str) -> list[str]:
    return CONTRACT_COLUMNS[entity] + (VERTICAL[source] if entity == "items" else [])


def parse_ts(value: str) -> datetime | None:
    if not TS.match(value):
        return None
    try:
        return datetime.fromisoformat(value[:19])
    except ValueError:
        return None


def broken_rules(source: str, entity: str, run_date: date, header: list[str], fields: list[str]) -> list[str]:
    """Every contract rule the record breaks (an independent re-statement of the contract)."""
    if len(fields) != len(header):
        return ["malformed_row"]
    row = dict(zip(header, fields))
    broken = [f"required:{header[0]}"] if not row[header[0]] else []
    if "price" in row and row["price"] and float(row["price"]) < 0:
        broken.append("range:price")
    if entity in EVENT_TYPES:
        if row["event_type"] not in EVENT_TYPES[entity]:
            broken.append("enum:event_type")
        if row.get("rating") and not 1 <= int(row["rating"]) <= 5:
            broken.append("range:rating")
        moment = parse_ts(row["occurred_at"])
        if moment is None:
            broken.append("type:occurred_at")
        elif moment >= datetime.combine(run_date + timedelta(days=1), datetime.min.time()):
            broken.append("future:occurred_at")
    return broken


def test_every_drop_has_contract_files_and_success_last(sample):
    for source in sample.manifest["parameters"]["sources"]:
        entities = ENTITIES.get(source, ["customers", "items", "interactions"])
        for day in sample.manifest["dates"]:
            drop = sample.out / source / day
            success = drop / "_SUCCESS"
            assert success.exists() and success.stat().st_size == 0
            files = sorted(p for p in drop.iterdir() if p.name != "_SUCCESS")
            names = [p.name.split(".")[0] for p in files]
            assert [n for n in names if n != "deletions"] == sorted(entities)
            assert all(p.stat().st_mtime_ns <= success.stat().st_mtime_ns for p in files)


def test_files_parse_as_rfc4180_with_exact_contract_columns(sample):
    malformed = {
        (v["file"], v["line"]) for v in sample.manifest["planted"]["violations"] if v["rule"] == "malformed_row"
    }
    assert 1 <= len(malformed) <= 2
    for entry in sample.files():
        header, rows = sample.records(entry["file"])
        assert header == expected_columns(entry["source"], entry["entity"]), entry["file"]
        assert len(rows) == entry["records"]
        bad = {(entry["file"], line) for line, fields in rows if len(fields) != len(header)}
        assert bad <= malformed


def test_formats_vary_bom_gzip_offsets_and_tricky_titles(sample):
    raw = (sample.out / "home" / sample.manifest["dates"][0] / "items.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert (sample.out / "automod" / sample.manifest["dates"][0] / "interactions.csv.gz").exists()
    assert not (sample.out / "platform" / sample.manifest["dates"][0] / "events.csv").read_bytes().startswith(b"\xef")
    _, rows = sample.records(f"platform/{sample.manifest['dates'][0]}/courses.csv")
    titles = [fields[1] for _, fields in rows]
    assert any("\n" in t for t in titles) and any('"' in t for t in titles) and any("," in t for t in titles)
    assert any(re.search(r"[\u4e00-\u9fff]", t) and re.search(r"[A-Za-z]", t) for t in titles)
    _, rows = sample.records(f"finance/{sample.manifest['dates'][0]}/interactions.csv")
    assert rows[0][1][-1].endswith("+08:00")


def test_planted_violations_are_exactly_the_rows_that_break_rules(sample):
    planted = {(v["file"], v["line"]): v["rule"] for v in sample.manifest["planted"]["violations"]}
    found = {}
    for entry in sample.files():
        header, rows = sample.records(entry["file"])
        run_date = date.fromisoformat(entry["date"])
        for line, fields in rows:
            broken = broken_rules(entry["source"], entry["entity"], run_date, header, fields)
            assert len(broken) <= 1, (entry["file"], line, broken)
            if broken:
                found[(entry["file"], line)] = broken[0]
        assert entry["quarantined"] == sum(1 for f, _ in planted if f == entry["file"])
    assert found == planted
    rules = set(planted.values())
    assert {
        "range:price",
        "enum:event_type",
        "range:rating",
        "future:occurred_at",
        "type:occurred_at",
        "required:event_id",
        "malformed_row",
    } <= rules
    total_rows = sum(f["records"] for f in sample.files())
    assert len(planted) / total_rows < 0.004


def test_duplicates_and_resent_events_are_where_the_manifest_says(sample):
    duplicates = sample.manifest["planted"]["duplicates"]
    assert duplicates
    for dup in duplicates:
        _, rows = sample.records(dup["file"])
        by_line = dict(rows)
        first, second = (by_line[line] for line in dup["lines"])
        assert first == second and first[0] == dup["record_id"]
    resent = sample.manifest["planted"]["resent"]
    assert resent
    for event in resent:
        by_line = dict(sample.records(event["file"])[1])
        assert by_line[event["line"]][0] == event["record_id"]
        earlier = event["file"].replace(event["date"], event["first_date"])
        assert event["record_id"] in {fields[0] for _, fields in sample.records(earlier)[1]}


def test_events_fall_within_their_drop_day_and_later_days_carry_changes(sample):
    planted = {(v["file"], v["line"]) for v in sample.manifest["planted"]["violations"]}
    resent = {(r["file"], r["line"]) for r in sample.manifest["planted"]["resent"]}
    for entry in sample.files("events") + sample.files("interactions"):
        header, rows = sample.records(entry["file"])
        column = header.index("occurred_at")
        day = date.fromisoformat(entry["date"])
        days = {parse_ts(f[column]).date() for line, f in rows if (entry["file"], line) not in planted | resent}
        assert days == {day}
    users = sample.files("users")
    assert users[0]["records"] > 10 * max(u["records"] for u in users[1:])
    header, rows = sample.records(users[2]["file"])
    updated = {f[header.index("updated_at")][:10] for _, f in rows if len(f) == len(header) and f[0]}
    assert updated == {users[2]["date"]}


def test_value_dirt_city_and_category_variants_and_missing_values(sample):
    header, rows = sample.records(f"platform/{sample.manifest['dates'][0]}/users.csv")
    cities = {f[header.index("city")] for _, f in rows}
    assert {"shanghai", "", "上海"} <= cities or {"beijing", "", "北京"} <= cities
    assert any(c != c.strip() for c in cities) and any(c.isupper() for c in cities)
    assert "" in {f[header.index("birth_year")] for _, f in rows}
    header, rows = sample.records(f"home/{sample.manifest['dates'][0]}/items.csv")
    categories = {f[header.index("category")] for _, f in rows}
    assert any(c != c.lower() or " " in c for c in categories)
    seeds = pd.read_csv(TAXONOMY)
    canonical = set(seeds.loc[seeds["source"] == "home", "category"])
    assert {c.strip().lower().replace(" ", "_") for c in categories} == canonical


def test_redelivered_drops_keep_the_original_beside_the_landing(sample):
    redeliveries = sample.manifest["redeliveries"]
    assert len(redeliveries) == 2
    root = sample.manifest_path.parent
    for redelivery in redeliveries:
        original, corrected = root / redelivery["superseded"], root / redelivery["landing"]
        assert (original / "_SUCCESS").exists() and (corrected / "_SUCCESS").exists()
        for entity, counts in redelivery["records"].items():
            name = next(p.name for p in corrected.iterdir() if p.name.startswith(entity))
            _, old = sample.records(name, original)
            _, new = sample.records(name, corrected)
            assert (len(old), len(new)) == (counts["superseded"], counts["landing"])
            assert old == new[: len(old)]
        assert any(c["superseded"] < c["landing"] for c in redelivery["records"].values())
