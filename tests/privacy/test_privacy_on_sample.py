"""Privacy end to end on the generated sample: two daily runs through the daily steps (the same
functions the DAG calls), with Postgres serving, Parquet copies, the snapshot and exports.

Run 1 (day 2) is before any erasure request; run 2 (the last day) follows the sample's
platform/deletions and one `xrec forget`. Then: exports hold only consented leads (HMAC
pseudonyms that differ per partner and match no SHA-256 of a real contact), partners' own
customers by their own ids and counts of at least XREC_MIN_AUDIENCE; erased people are gone
from every store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
import pytest

from xrec import daily
from xrec.config import Settings
from xrec.privacy.erasure import request_erasure
from xrec.privacy.keys import new_keys, write_keys_file
from xrec.publish.exports import export_dir
from xrec.publish.files import snapshot_path
from xrec_tools.sample import generate

pytestmark = pytest.mark.e2e

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
START, DAYS, USERS, SEED = date(2026, 11, 1), 6, 1000, 11
RUN1, RUN2 = START + timedelta(days=2), START + timedelta(days=DAYS - 1)
# The erased people's ids stay only in the suppression list (README, Privacy).
SUPPRESSION = {"raw.platform__deletions", "raw.forget_requests", "raw.erasures_done", "staging.stg_platform__deletions"}


def _run_day(settings: Settings, day: date) -> dict:
    """One daily run, step by step as dags/xrec_daily.py chains them (quality gates aside)."""
    for source in settings.sources:
        daily.ingest(settings, source, day)
    daily.erase(settings, day)
    daily.purge_expired(settings, day)
    daily.build_warehouse(settings, day, [{"source": s, "included": True} for s in settings.sources])
    model = daily.train_and_evaluate(settings, day)
    assert model["is_promoted"], model
    daily.score(settings, day)
    daily.publish(settings, day)
    return model


def _secret(settings: Settings, partner: str) -> bytes:
    entry = json.loads(settings.export_keys_file.read_text())["partners"][partner]
    return bytes.fromhex(entry["keys"][entry["active"]])


def _lead_id(settings: Settings, partner: str, user_id: str) -> str:
    return hmac.new(_secret(settings, partner), f"platform_user:{user_id}".encode(), hashlib.sha256).hexdigest()


def _landing_users(landing: Path, up_to: date) -> pd.DataFrame:
    """Every delivered platform/users row up to a date, read independently of ingest."""
    frames = []
    for path in sorted(landing.glob("platform/*/users.csv")):
        if date.fromisoformat(path.parent.name) <= up_to:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, on_bad_lines="skip")
            frames.append(frame.assign(_date=path.parent.name, _line=range(len(frame))))
    return pd.concat(frames, ignore_index=True)


def _consent_in_force(landing: Path, up_to: date) -> dict[str, set[str]]:
    users = _landing_users(landing, up_to)
    users = users[users["user_id"].str.strip() != ""]
    latest = users.sort_values(["updated_at", "_date", "_line"]).drop_duplicates("user_id", keep="last")
    consent = {}
    for user, share in zip(latest["user_id"].str.strip(), latest["share_with"]):
        names = {p.strip().lower() for p in share.split("|") if p.strip()}
        consent[user] = {"realty", "finance", "home", "automod"} if "*" in names else names
    return consent


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("privacy")
    landing = root / "landing"
    generate(landing, START, DAYS, USERS, SEED)
    write_keys_file(root / "export_keys.json", new_keys(["realty", "finance", "home", "automod"]))
    database = f"xrec_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"create database {database}")
    settings = Settings.isolated(
        root,
        {
            "XREC_SERVING_DSN": f"host=127.0.0.1 port=5432 user=postgres dbname={database}",
        },
    )
    try:
        _run_day(settings, RUN1)
        leads_before = {
            p: set(pd.read_parquet(export_dir(settings, p, RUN1) / "leads.parquet")["lead_id"])
            for p in settings.partners
        }
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            hashes = {
                row[0]: (row[1], row[2])
                for row in con.execute(
                    "select user_id, email_sha256, phone_sha256 from staging.stg_platform__users"
                ).fetchall()
            }
        # erase one consenting user who was a lead in run 1, through `xrec forget`
        consent = _consent_in_force(landing, RUN1)
        forgotten = next(
            u
            for u in sorted(consent)
            if "realty" in consent[u] and _lead_id(settings, "realty", u) in leads_before["realty"]
        )
        request_erasure(settings, [forgotten])
        _run_day(settings, RUN2)
        again = daily.erase(settings, RUN2)  # a rerun of the step finds nothing left to erase
        assert again["new"] == 0 and again["rows_removed"] == 0, again
        # a re-delivered old drop brings a forgotten user back into raw: a day with no new
        # request (which searches only raw) removes them again
        with duckdb.connect(str(settings.warehouse)) as con:
            con.execute(
                "insert into raw.platform__users select * replace (? as user_id, null as email_sha256, "
                "null as phone_sha256) from raw.platform__users limit 1",
                [forgotten],
            )
        redelivered = daily.erase(settings, RUN2)
        assert redelivered["new"] == 0 and redelivered["rows_removed"] == 1, redelivered
        yield {
            "settings": settings,
            "landing": landing,
            "hashes": hashes,
            "forgotten": forgotten,
            "leads_before": leads_before,
        }
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"drop database if exists {database} with (force)")


def _erased(world) -> tuple[set[str], set[str]]:
    """(user ids, identifiers to look for): the users, their partner customers and all hashes."""
    deleted = set()
    for path in world["landing"].glob("platform/*/deletions.csv"):
        deleted |= set(pd.read_csv(path, dtype=str)["user_id"])
    users = deleted | {world["forgotten"]}
    hashes = {h for u in users for h in world["hashes"].get(u, ()) if h}
    customers = set()
    for path in world["landing"].glob("*/*/customers.csv*"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, on_bad_lines="skip")
        matched = frame["email_sha256"].str.strip().str.lower().isin(hashes) | frame[
            "phone_sha256"
        ].str.strip().str.lower().isin(hashes)
        customers |= set(frame.loc[matched, "customer_id"].str.strip())
    return users, users | hashes | customers


def _hits(con, table: str, cols: list[str], needles: set[str]) -> int:
    text = "concat_ws(chr(31), " + ", ".join(f'cast("{c}" as varchar)' for c in cols) + ")"
    pattern = "|".join(sorted(needles))
    return con.execute(f"select count(*) from {table} where regexp_matches({text}, ?)", [pattern]).fetchone()[0]


def _duckdb_hits(path: Path, needles: set[str], skip: set[str] = frozenset()) -> dict[str, int]:
    found = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name, list(column_name) from information_schema.columns "
            "join information_schema.tables using (table_catalog, table_schema, table_name) "
            "where table_type = 'BASE TABLE' group by all"
        ).fetchall()
        for schema, name, cols in tables:
            if f"{schema}.{name}" not in skip and (n := _hits(con, f'"{schema}"."{name}"', cols, needles)):
                found[f"{schema}.{name}"] = n
    return found


def test_the_sample_asks_for_erasure_of_linked_people(world):
    users, needles = _erased(world)
    assert len(users) >= 3 and len(needles) > 2 * len(users)  # hashes and partner customers too


def test_erased_people_are_gone_from_warehouse_serving_copies_and_models(world):
    settings = world["settings"]
    users, needles = _erased(world)
    assert _duckdb_hits(settings.warehouse, needles, SUPPRESSION) == {}
    assert _duckdb_hits(snapshot_path(settings), needles) == {}
    with duckdb.connect() as con:
        # Parquet copies and the API's serving bundles alike
        for path in settings.artifacts.rglob("*.parquet"):
            cols = [r[0] for r in con.execute(f"describe select * from read_parquet('{path}')").fetchall()]
            assert _hits(con, f"read_parquet('{path}')", cols, needles) == 0, path
    with psycopg.connect(settings.serving_dsn) as pg:
        tables = pg.execute(
            "select table_name, array_agg(column_name::text) from information_schema.columns "
            "where table_schema = 'xrec' group by 1"
        ).fetchall()
        assert tables
        for name, cols in tables:
            text = "concat_ws(chr(31), " + ", ".join(f'"{c}"::text' for c in cols) + ")"
            count = pg.execute(
                f'select count(*) from xrec."{name}" where {text} ~ %s', ["|".join(sorted(needles))]
            ).fetchone()[0]
            assert count == 0, name
    for path in (settings.artifacts / "models").glob("*/id_maps.json"):
        assert not any(n in path.read_text() for n in needles), path
    latest = export_dir(settings, "realty", RUN2)
    assert not any(n in p.read_text() for p in latest.glob("*.csv") for n in needles)
    assert _lead_id(settings, "realty", world["forgotten"]) not in set(
        pd.read_parquet(latest / "leads.parquet")["lead_id"]
    )
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        audit = con.execute("select detail from raw.privacy_audit where action = 'erasure'").fetchall()
    assert audit and not any(n in detail for (detail,) in audit for n in needles)


def test_leads_are_exactly_the_consenting_users_by_partner_keyed_pseudonyms(world):
    settings, landing = world["settings"], world["landing"]
    users, _ = _erased(world)
    consent = _consent_in_force(landing, RUN2)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        recommended = con.execute(
            "select partner, list(distinct recipient_id) from cross_recommendations "
            "where run_date = ? and direction = 'platform_to_partner' group by 1",
            [RUN2],
        ).fetchall()
    seen = {}
    for partner, recipients in recommended:
        leads = set(pd.read_parquet(export_dir(settings, partner, RUN2) / "leads.parquet")["lead_id"])
        allowed = {u for u in recipients if partner in consent.get(u, set())}
        assert leads == {_lead_id(settings, partner, u) for u in allowed}, partner
        assert len(leads) < len(recipients)  # most users did not consent
        assert not {_lead_id(settings, partner, u) for u in users} & leads
        seen[partner] = leads
    partners = sorted(seen)
    for i, a in enumerate(partners):  # a user consenting to several partners has unlinkable ids
        for b in partners[i + 1 :]:
            assert not seen[a] & seen[b]
    both = [u for u in consent if {"realty", "finance"} <= consent[u]]
    assert both and _lead_id(settings, "realty", both[0]) != _lead_id(settings, "finance", both[0])


def test_withdrawn_consent_leaves_the_next_export(world):
    settings, landing = world["settings"], world["landing"]
    before, after = _consent_in_force(landing, RUN1), _consent_in_force(landing, RUN2)
    withdrawn = [(u, p) for u in before for p in before[u] if p not in after.get(u, set())]
    assert withdrawn
    for user, partner in withdrawn:
        leads = set(pd.read_parquet(export_dir(settings, partner, RUN2) / "leads.parquet")["lead_id"])
        assert _lead_id(settings, partner, user) not in leads


def test_no_export_value_is_a_contact_hash_a_user_id_or_a_small_group(world):
    settings = world["settings"]
    contact = {h for pair in world["hashes"].values() for h in pair if h}
    contact |= {hashlib.sha256(u.encode()).hexdigest() for u in world["hashes"]}
    # the real values as delivered, hashed by hand: trimmed lower-cased emails, phones as E.164
    users = _landing_users(world["landing"], RUN2)
    emails = {hashlib.sha256(e.strip().lower().encode()).hexdigest() for e in users["email"] if e.strip()}
    digits = users["phone"].str.replace(r"\D", "", regex=True)
    phones = {hashlib.sha256(("+" + (d if len(d) > 11 else "86" + d)).encode()).hexdigest() for d in digits if d}
    assert len(emails & contact) > 0.9 * len(emails) and len(phones & contact) > 0.9 * len(phones)
    contact |= emails | phones
    for partner in settings.partners:
        folder = export_dir(settings, partner, RUN2)
        leads = pd.read_parquet(folder / "leads.parquet")
        assert not set(leads["lead_id"]) & contact
        for path in folder.glob("*.csv"):
            text = path.read_text(encoding="utf-8")
            assert not any(h in text for h in contact), path
            assert "U0000" not in text, path  # no platform user_id
        customers = pd.read_parquet(folder / "courses_for_customers.parquet")
        assert customers["customer_id"].str.startswith(partner[:2].upper() + "C").all()
        counts = pd.read_parquet(folder / "audience_counts.parquet")
        assert len(counts) and (counts["recipients"] >= settings.min_audience).all()
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["withheld"][1]["groups"] > 0  # small groups existed and were suppressed
        assert manifest["pseudonym"]["algorithm"] == "HMAC-SHA256"
