import threading
import uuid
from datetime import date

import duckdb
import psycopg
import pytest

from xrec.publish import publish
from xrec.publish.postgres import setup_readonly_role

pytestmark = pytest.mark.postgres

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)
SERVED = {
    "cross_recommendations",
    "model_runs",
    "data_quality_results",
    "dim_person",
    "dim_item",
    "bi_segment_profiles",
    "bi_partner_overlap",
}


def _query(settings, sql, params=None):
    with psycopg.connect(settings.serving_dsn) as pg:
        return pg.execute(sql, params).fetchall()


def _dump(settings):
    """Every served table's rows, in a stable order."""
    return {name: _query(settings, f"select * from xrec.{name} t order by t::text") for name in sorted(SERVED)}


def _retrain(settings, run_date, model_version):
    """Replace run_date's candidates by another model's (a rerun after retraining)."""
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(
            "update recommendation_candidates set model_version = ? where run_date = ?", [model_version, run_date]
        )
        con.execute("update model_runs set model_version = ? where run_date = ?", [model_version, run_date])


def test_load_serves_history_current_and_marts(pg_settings, warehouse):
    warehouse(D1, "v1")
    warehouse(D2, "v2")
    publish(pg_settings, D1)
    summary = publish(pg_settings, D2)

    assert set(summary.serving_rows) == SERVED and summary.serving_rows["cross_recommendations"] == 64
    assert _query(pg_settings, "select run_date, count(*) from xrec.cross_recommendations group by 1 order by 1") == [
        (D1, 64),
        (D2, 64),
    ]
    assert _query(pg_settings, "select distinct model_version from xrec.cross_recommendations_current") == [("v2",)]
    assert _query(pg_settings, "select count(*) from xrec.model_runs where is_published") == [(2,)]
    # nested mart columns arrive as JSON
    assert _query(pg_settings, "select distinct tags->>0 from xrec.dim_person") == [("vip",)]
    indexed = {
        row[0]
        for row in _query(pg_settings, "select indexdef from pg_indexes where tablename = 'cross_recommendations'")
    }
    for column in ("run_date", "partner", "direction", "recipient_id"):
        assert any(f"({column})" in definition for definition in indexed), column


def test_reloading_the_same_date_is_identical(pg_settings, warehouse):
    warehouse(D1, "v1")
    publish(pg_settings, D1)
    before = _dump(pg_settings)
    publish(pg_settings, D1)
    assert _dump(pg_settings) == before


def test_no_candidates_leaves_served_current_unchanged(pg_settings, warehouse):
    warehouse(D1, "v1")
    publish(pg_settings, D1)
    warehouse(D2, "v2", candidates=False)
    publish(pg_settings, D2)
    assert _query(pg_settings, "select distinct run_date, model_version from xrec.cross_recommendations_current") == [
        (D1, "v1")
    ]
    assert _query(pg_settings, "select decision_reason from xrec.model_runs where run_date = %s", [D2]) == [
        ("below baseline",)
    ]


def test_reader_snapshot_sees_old_or_new_run_never_a_mix(pg_settings, warehouse):
    warehouse(D1, "v1")
    publish(pg_settings, D1)
    _retrain(pg_settings, D1, "v1b")

    with psycopg.connect(pg_settings.serving_dsn) as reader:
        reader.execute("begin isolation level repeatable read")
        assert reader.execute("select count(*) from xrec.cross_recommendations_current").fetchone() == (64,)
        publish(pg_settings, D1)  # reload while the reader's transaction is open
        old = reader.execute(
            "select (select array_agg(distinct model_version) from xrec.cross_recommendations_current), "
            "(select array_agg(model_version) from xrec.model_runs)"
        ).fetchone()
        reader.execute("commit")
        new = reader.execute(
            "select (select array_agg(distinct model_version) from xrec.cross_recommendations_current), "
            "(select array_agg(model_version) from xrec.model_runs)"
        ).fetchone()
    assert old == (["v1"], ["v1"]) and new == (["v1b"], ["v1b"])


def test_concurrent_poller_never_sees_a_half_loaded_run(pg_settings, warehouse):
    warehouse(D1, "v1")
    publish(pg_settings, D1)
    seen: set[tuple] = set()
    stop = threading.Event()

    def poll():
        with psycopg.connect(pg_settings.serving_dsn, autocommit=True) as pg:
            while not stop.is_set():
                seen.add(
                    tuple(
                        pg.execute(
                            "select model_version, count(*) from xrec.cross_recommendations_current group by 1 order by 1"
                        ).fetchall()
                    )
                )

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        for version in ("v1b", "v1c"):
            _retrain(pg_settings, D1, version)
            publish(pg_settings, D1)
    finally:
        stop.set()
        poller.join()
    assert seen <= {((v, 64),) for v in ("v1", "v1b", "v1c")}, seen


def test_every_table_and_column_is_commented(pg_settings, warehouse):
    warehouse(D1, "v1")
    publish(pg_settings, D1)
    rows = _query(
        pg_settings,
        """
        select c.relname, a.attname, obj_description(c.oid, 'pg_class'), col_description(c.oid, a.attnum)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        where n.nspname = 'xrec' and c.relkind in ('r', 'v')
        """,
    )
    assert {r[0] for r in rows} == SERVED | {"cross_recommendations_current"}
    missing = [(table, column) for table, column, t_doc, c_doc in rows if not t_doc or not c_doc]
    assert not missing
    docs = {(r[0], r[1]): r[3] for r in rows}
    assert docs[("cross_recommendations", "recipient_id")].startswith("Who receives it")


@pytest.fixture
def bi_role(pg_settings):
    role = f"xrec_bi_{uuid.uuid4().hex[:8]}"
    yield role
    with psycopg.connect(pg_settings.serving_dsn, autocommit=True) as pg:
        pg.execute(f"drop owned by {role}")
        pg.execute(f"drop role {role}")


def test_bi_role_reads_every_table_and_writes_none(pg_settings, warehouse, bi_role):
    warehouse(D1, "v1")
    publish(pg_settings, D1)  # tables created before the role ...
    setup_readonly_role(pg_settings, role=bi_role)
    warehouse(D2, "v2")
    publish(pg_settings, D2)  # ... and loads after it

    with psycopg.connect(pg_settings.serving_dsn, autocommit=True) as pg:
        pg.execute(f"set role {bi_role}")
        for name in SERVED | {"cross_recommendations_current"}:
            pg.execute(f"select count(*) from xrec.{name}").fetchone()
        for statement in (
            "delete from xrec.cross_recommendations",
            "insert into xrec.model_runs (model_version) values ('x')",
            "create table xrec.scratch (x int)",
            "drop table xrec.dim_item",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                pg.execute(statement)


def test_serving_set_up_later_catches_up_on_earlier_partitions(pg_settings, settings, warehouse):
    warehouse(D1, "v1")
    warehouse(D2, "v2")
    publish(settings, D1)  # no serving DSN yet
    publish(pg_settings, D2)
    assert _query(pg_settings, "select run_date, count(*) from xrec.cross_recommendations group by 1 order by 1") == [
        (D1, 64),
        (D2, 64),
    ]


def test_a_new_warehouse_column_reaches_serving_with_history_and_view_intact(pg_settings, warehouse):
    warehouse(D1, "v1")
    publish(pg_settings, D1)
    warehouse(D2, "v2")
    with duckdb.connect(str(pg_settings.warehouse)) as con:
        con.execute("alter table cross_recommendations add column explanation_code integer")
    publish(pg_settings, D2)
    assert _query(pg_settings, "select run_date, count(*) from xrec.cross_recommendations group by 1 order by 1") == [
        (D1, 64),
        (D2, 64),
    ]
    assert _query(pg_settings, "select count(explanation_code), count(*) from xrec.cross_recommendations_current") == [
        (0, 64)
    ]


def test_bi_role_is_refused_on_hash_columns(pg_settings, warehouse, bi_role):
    warehouse(D1, "v1")
    publish(pg_settings, D1)
    with psycopg.connect(pg_settings.serving_dsn, autocommit=True) as pg:
        # a table with contact hashes in the schema (say, for the platform's own matching job)
        pg.execute("create table xrec.recipient_keys (person_id text, email_sha256 text, lead_id text)")
        pg.execute("insert into xrec.recipient_keys values ('p1', repeat('a', 64), repeat('b', 64))")
    setup_readonly_role(pg_settings, role=bi_role, password="x")
    publish(pg_settings, D1)  # a later load keeps the column grants
    role_dsn = pg_settings.serving_dsn.replace("user=postgres", f"user={bi_role} password=x")
    with psycopg.connect(role_dsn, autocommit=True) as pg:
        assert pg.execute("select person_id from xrec.recipient_keys").fetchall() == [("p1",)]
        assert pg.execute("select count(*) from xrec.cross_recommendations_current").fetchone()[0] > 0
        for statement in (
            "select email_sha256 from xrec.recipient_keys",
            "select lead_id from xrec.recipient_keys",
            "select * from xrec.recipient_keys",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                pg.execute(statement)
