"""A small warehouse shaped like docs/interfaces.md, and throwaway Postgres databases."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from datetime import date

import duckdb
import psycopg
import pytest

from tests.marts import write_marts
from xrec.config import Settings
from xrec.privacy.keys import new_keys, write_keys_file

PARTNERS = ("realty", "finance")
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@pytest.fixture
def settings(tmp_path) -> Settings:
    write_keys_file(tmp_path / "export_keys.json", new_keys(PARTNERS))
    return Settings.isolated(tmp_path, {"XREC_MIN_AUDIENCE": "2", "XREC_PARTNERS": ",".join(PARTNERS)})


def _build_marts(con: duckdb.DuckDBPyConnection) -> None:
    """8 platform users (u1..u8), 4 customers per partner; u8 has no contact hashes."""
    con.execute("create schema if not exists marts; create schema if not exists raw")
    recipients = con.execute(
        """
        select 'p' || i as person_id, 'platform' as recipient_source, 'u' || i as recipient_id,
               case when i < 8 then sha256('user' || i || '@example.com') end as email_sha256,
               case when i < 8 and i % 2 = 0 then sha256('+86138000000' || lpad(i::varchar, 2, '0')) end
                   as phone_sha256
        from range(1, 9) t(i)
        union all
        select 'p' || i, partner, left(partner, 1) || '-c' || i, sha256('user' || i || '@example.com'), null
        from range(1, 5) t(i), (values ('realty'), ('finance')) p(partner)
        """
    ).df()
    con.register("recipients_frame", recipients)
    persons = con.execute(
        """
        select person_id, recipient_id as platform_user_id, 'Shanghai' as city, email_sha256, phone_sha256,
               (hash(person_id) % 3)::int as segment_id
        from recipients_frame where recipient_source = 'platform'
        """
    ).df()
    con.unregister("recipients_frame")
    items = con.execute(
        """
        select src || ':' || src_id as item_key, src as source, src_id as item_id, 'title ' || src_id as title,
               'cat' as category, true as is_active
        from (select 'platform' src, 'c' || i src_id from range(1, 11) t(i)
              union all select p, left(p, 1) || '-i' || i from range(1, 11) t(i), (values ('realty'), ('finance')) v(p))
        """
    ).df()
    write_marts(con, {"ml_recipients": recipients, "ml_persons": persons, "ml_items": items})
    # u2 shares with realty, u3 with every partner, u4 withdrew (no row): consent in force
    con.execute(
        "create or replace table marts.privacy_consents as select * from (values "
        "('u2', 'realty', timestamp '2026-02-01'), ('u3', 'realty', timestamp '2026-02-01'), "
        "('u3', 'finance', timestamp '2026-02-01')) v(user_id, partner, stated_at)"
    )
    con.execute(
        "create or replace table marts.dim_person as select person_id, city, segment_id, "
        "['vip', 'new'] as tags from marts.ml_persons"
    )
    con.execute("create or replace table marts.dim_item as select item_key, source, item_id, title from marts.ml_items")
    con.execute(
        "create or replace table marts.bi_segment_profiles as select segment_id, 'segment ' || segment_id as "
        "segment_name, count(*) as persons from marts.ml_persons group by all"
    )
    con.execute(
        "create or replace table marts.bi_partner_overlap as select partner, 4 as shared_persons "
        "from (values ('realty'), ('finance')) v(partner)"
    )


def _add_run(con: duckdb.DuckDBPyConnection, run_date: date, model_version: str, candidates: bool) -> None:
    con.execute(
        """
        create table if not exists main.model_runs (model_version varchar, run_date date, trained_at timestamp,
            data_window_start date, data_window_end date, params json, metrics json, baseline_metrics json,
            primary_metric varchar, primary_value double, baseline_value double, previous_value double,
            is_published boolean, decision_reason varchar, artifact_path varchar);
        create table if not exists main.recommendation_candidates (run_date date, model_version varchar,
            direction varchar, partner varchar, recipient_id varchar, item_id varchar, rank integer, score double,
            generated_at timestamp, person_id varchar, variant varchar, reason varchar, reason_items varchar);
        create table if not exists main.data_quality_results (run_id varchar, layer varchar, source varchar,
            run_date date, suite varchar, passed boolean, evaluated_expectations integer,
            failed_expectations integer, warned_expectations integer, quarantined_rows bigint, failures json,
            validated_at timestamp);
        create table if not exists raw.quarantine (source varchar, entity varchar, delivery_date date,
            source_file varchar, source_line bigint, record_key varchar, rule varchar, column_name varchar,
            bad_value varchar);
        """
    )
    day = (run_date - date(2026, 1, 1)).days
    con.execute(
        """
        insert into main.model_runs values ($v, $d, $d::timestamp + interval 1 hour, $d - 30, $d,
            '{"loss": "warp"}', json_object('precision_at_10', 0.1 + $n / 100), '{"precision_at_10": 0.05}',
            'precision_at_10', 0.1 + $n / 100, 0.05, null, false, $reason, '/models/' || $v)
        """,
        {"v": model_version, "d": run_date, "n": day, "reason": "promoted" if candidates else "below baseline"},
    )
    con.execute(
        """
        insert into main.data_quality_results
        select $d || '-' || src, 'raw', src, $d, 'raw.' || src, src <> 'finance', 10,
               (src = 'finance')::int, 0, (src = 'finance')::int * 3, '[]', $d::timestamp
        from (values ('platform'), ('realty'), ('finance')) v(src)
        """,
        {"d": run_date},
    )
    con.execute(
        "insert into raw.quarantine select 'finance', 'items', $d, 'finance/x/items.csv', i + 1, 'f-i' || i, "
        "'range:risk_level', 'risk_level', '9' from range(3) t(i)",
        {"d": run_date},
    )
    if not candidates:
        return
    con.execute(
        """
        insert into main.recommendation_candidates
        -- platform users u1..u8 receive 3 of each partner's items
        select $d, $v, 'platform_to_partner', partner, 'u' || u, left(partner, 1) || '-i' || ((u + r) % 10 + 1),
               r, 1.0 / r, $d::timestamp + interval 2 hour, 'p' || u,
               case when u = 1 then 'control' else 'model' end, 'similar people liked it', '[]'
        from range(1, 9) a(u), range(1, 4) b(r), (values ('realty'), ('finance')) p(partner)
        union all
        -- each partner's customers receive 2 platform courses
        select $d, $v, 'partner_to_platform', partner, left(partner, 1) || '-c' || c, 'c' || ((c + r) % 10 + 1),
               r, 1.0 / r, $d::timestamp + interval 2 hour, 'p' || c, 'model', 'matches your interests', '[]'
        from range(1, 5) a(c), range(1, 3) b(r), (values ('realty'), ('finance')) p(partner)
        """,
        {"d": run_date, "v": model_version},
    )


@pytest.fixture
def warehouse(settings) -> Callable[..., None]:
    """Call ``warehouse(run_date, model_version, candidates=True)`` to add one day's outputs."""

    def add(run_date: date, model_version: str, candidates: bool = True) -> None:
        with duckdb.connect(str(settings.warehouse)) as con:
            _build_marts(con)
            _add_run(con, run_date, model_version, candidates)

    return add


@pytest.fixture
def pg_settings(settings) -> Iterator[Settings]:
    """Settings pointing at a fresh Postgres database, dropped afterwards."""
    name = f"xrec_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f"create database {name}")
    try:
        yield dataclasses.replace(settings, serving_dsn=f"host=127.0.0.1 port=5432 user=postgres dbname={name}")
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f"drop database if exists {name} with (force)")
