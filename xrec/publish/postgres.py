"""The Postgres serving schema BI tools query (``XREC_SERVING_DSN``, ``XREC_SERVING_SCHEMA``).

One run is loaded in one Postgres transaction: the run_date partition of
``cross_recommendations`` and the whole of every other served table are deleted and re-copied
(DELETE, not TRUNCATE, because TRUNCATE is not MVCC-safe: a reader's older snapshot would see
an emptied table). A BI query therefore sees the previous run or this one, never a mix.
Tables are created from the warehouse's column types, indexed on what BI filters by and
commented from dbt's docs.
"""

from __future__ import annotations

import logging
import re
import tempfile
from datetime import date
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from xrec.config import Settings
from xrec.publish.catalog import (
    CROSS_RECOMMENDATIONS,
    CURRENT_VIEW,
    SERVING_TABLES,
    Scope,
    ServingTable,
    is_nested,
    select_sql,
    served_columns,
)
from xrec.publish.descriptions import Descriptions, load_descriptions, manifest_path
from xrec.spans import spanned

log = logging.getLogger(__name__)

# Columns BI dashboards filter on; each gets a btree index where present.
INDEXED_COLUMNS = ("run_date", "partner", "direction", "recipient_id", "source")

# DuckDB type -> Postgres type, spelled as Postgres' format_type() prints it so an existing
# table's columns can be compared with the warehouse's to detect a schema change.
_PG_TYPES = {
    "VARCHAR": "text",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "TINYINT": "smallint",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric",
    "HUGEINT": "numeric",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIME": "time without time zone",
    "TIMESTAMP": "timestamp without time zone",
    "TIMESTAMP_NS": "timestamp without time zone",
    "TIMESTAMP_MS": "timestamp without time zone",
    "TIMESTAMP_S": "timestamp without time zone",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "JSON": "jsonb",
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def pg_type(duckdb_type: str) -> str:
    """The Postgres column type for a DuckDB type; nested types arrive as JSON text."""
    if duckdb_type in _PG_TYPES:
        return _PG_TYPES[duckdb_type]
    if match := _DECIMAL.fullmatch(duckdb_type):
        return f"numeric({match[1]},{match[2]})"
    if is_nested(duckdb_type):
        return "jsonb"
    return "text"


@spanned("postgres")
def load_serving(
    con: duckdb.DuckDBPyConnection, settings: Settings, run_date: date, descriptions: Descriptions | None = None
) -> dict[str, int] | None:
    """Load run_date into the serving schema in one transaction; rows copied per table.

    Comments come from ``descriptions`` (default: dbt's manifest). None (and a log line) when
    no serving DSN is configured.
    """
    if not settings.serving_dsn:
        log.info("serving %s: XREC_SERVING_DSN not set; Postgres load skipped", run_date)
        return None
    descriptions = descriptions or load_descriptions(manifest_path(settings))
    schema = settings.serving_schema
    loaded: dict[str, int] = {}
    with (
        tempfile.TemporaryDirectory(prefix="xrec-serving-") as staging,
        psycopg.connect(settings.serving_dsn) as pg,
        pg.transaction(),
        pg.cursor() as cur,
    ):
        cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        for table in SERVING_TABLES:
            cols = served_columns(con, table)
            if cols is None:
                log.info("serving %s: %s does not exist yet; %s left as it was", run_date, table.relation, table.name)
                continue
            target = [(name, pg_type(dtype)) for name, dtype in cols]
            _ensure_table(cur, schema, table.name, target)
            loaded[table.name] = _replace_rows(con, cur, schema, table, run_date, Path(staging))
            _comment(cur, schema, table.name, [name for name, _ in target], descriptions, "table")
        if CROSS_RECOMMENDATIONS.name in loaded:
            _ensure_current_view(cur, schema)
            view_cols = [name for name, _ in served_columns(con, CROSS_RECOMMENDATIONS)]
            _comment(cur, schema, CURRENT_VIEW, view_cols, descriptions, "view")
        grant_readers(cur, schema)  # tables (re)created by this load get the readers' column grants
    log.info("serving %s: loaded %s into %s", run_date, loaded, schema)
    return loaded


def _ensure_table(cur: psycopg.Cursor, schema: str, name: str, target: list[tuple[str, str]]) -> None:
    """Create the table, or recreate it when the warehouse's columns changed."""
    cur.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
        "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped "
        "order by a.attnum",
        [schema, name],
    )
    existing = [tuple(row) for row in cur.fetchall()]
    if existing == target:
        return
    qualified = sql.Identifier(schema, name)
    if existing:
        # Rare (a mart gained a column): CASCADE drops the current view; it is recreated below.
        log.warning("serving: %s.%s columns changed; recreating it", schema, name)
        cur.execute(sql.SQL("drop table {} cascade").format(qualified))
    cur.execute(
        sql.SQL("create table {} ({})").format(
            qualified,
            sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in target),
        )
    )
    for column in (c for c, _ in target if c in INDEXED_COLUMNS):
        cur.execute(
            sql.SQL("create index {} on {} ({})").format(
                sql.Identifier(f"{name}__{column}_idx"), qualified, sql.Identifier(column)
            )
        )


def _replace_rows(
    con: duckdb.DuckDBPyConnection,
    cur: psycopg.Cursor,
    schema: str,
    table: ServingTable,
    run_date: date,
    staging: Path,
) -> int:
    """Delete what this run replaces and COPY the warehouse rows in (via a CSV file).

    History also catches up on partitions the warehouse has and Postgres lacks (serving set up
    after the first runs, or a table recreated after a schema change).
    """
    qualified = sql.Identifier(schema, table.name)
    if table.scope is Scope.PARTITION:
        cur.execute(sql.SQL("select distinct run_date from {}").format(qualified))
        served = {row[0] for row in cur.fetchall()}
        stored = {row[0] for row in con.execute(f"select distinct run_date from {table.relation}").fetchall()}
        dates = sorted({run_date} | (stored - served))
        if len(dates) > 1:
            log.info("serving %s: catching up %s partitions %s", run_date, table.name, dates)
        cur.execute(sql.SQL("delete from {} where run_date = any(%s)").format(qualified), [dates])
        query, params = select_sql(con, table, dates)
    else:
        cur.execute(sql.SQL("delete from {}").format(qualified))
        query, params = select_sql(con, table, None)
    csv_path = staging / f"{table.name}.csv"
    # DuckDB writes NULL as an empty field and '' as "", exactly how Postgres' CSV COPY reads them.
    con.execute(f"copy ({query}) to '{csv_path}' (format csv, header false)", params)
    names = [name for name, _ in served_columns(con, table)]
    copy_sql = sql.SQL("copy {} ({}) from stdin (format csv)").format(
        qualified, sql.SQL(", ").join(map(sql.Identifier, names))
    )
    with csv_path.open("rb") as handle, cur.copy(copy_sql) as copy:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            copy.write(chunk)
    return cur.rowcount


def _ensure_current_view(cur: psycopg.Cursor, schema: str) -> None:
    """Create the view when missing; never replace a live one (that would wait for BI readers)."""
    cur.execute("select to_regclass(%s)", [f'"{schema}"."{CURRENT_VIEW}"'])
    if cur.fetchone()[0] is not None:
        return
    history = sql.Identifier(schema, CROSS_RECOMMENDATIONS.name)
    cur.execute(
        sql.SQL("create view {} as select * from {} where run_date = (select max(run_date) from {})").format(
            sql.Identifier(schema, CURRENT_VIEW), history, history
        )
    )


def _comment(
    cur: psycopg.Cursor, schema: str, name: str, column_names: list[str], descriptions: Descriptions, kind: str
) -> None:
    qualified = sql.Identifier(schema, name)
    cur.execute(
        sql.SQL("comment on {} {} is {}").format(sql.SQL(kind), qualified, sql.Literal(descriptions.table(name)))
    )
    for column in column_names:
        cur.execute(
            sql.SQL("comment on column {} is {}").format(
                sql.Identifier(schema, name, column), sql.Literal(descriptions.column(name, column))
            )
        )


def setup_readonly_role(settings: Settings, role: str = "xrec_bi", password: str | None = None) -> None:
    """Create (or update) a read-only role for BI tools on the serving schema.

    Without ``password`` the role is NOLOGIN (grant it to people: ``GRANT xrec_bi TO alice``);
    with one it can log in itself. It may read every column of every table and view in the
    schema except hash-like columns (:data:`PROTECTED_COLUMN`), and write none. Grants are per
    column, so each load re-applies them to tables it creates (:func:`grant_readers`).
    """
    if not settings.serving_dsn:
        raise ValueError("XREC_SERVING_DSN is not set: there is no serving database to set up")
    ident = sql.Identifier(role)
    schema = sql.Identifier(settings.serving_schema)
    login = sql.SQL("login password {}").format(sql.Literal(password)) if password else sql.SQL("nologin")
    with psycopg.connect(settings.serving_dsn) as pg, pg.transaction(), pg.cursor() as cur:
        cur.execute("select 1 from pg_roles where rolname = %s", [role])
        verb = "alter" if cur.fetchone() else "create"
        cur.execute(sql.SQL(verb + " role {} {}").format(ident, login))
        cur.execute("select current_database()")
        database = sql.Identifier(cur.fetchone()[0])
        cur.execute(sql.SQL("grant connect on database {} to {}").format(database, ident))
        cur.execute(sql.SQL("create schema if not exists {}").format(schema))
        cur.execute(sql.SQL("grant usage on schema {} to {}").format(schema, ident))
        # Earlier versions granted whole tables by default: a table grant would override the
        # column grants below, so it is taken back.
        cur.execute(
            sql.SQL("alter default privileges in schema {} revoke select on tables from {}").format(schema, ident)
        )
        protected = grant_readers(cur, settings.serving_schema, [role])
    log.info(
        "serving: read-only role %s (%s) can read schema %s except %d hash-like column(s)",
        role,
        "login" if password else "nologin",
        settings.serving_schema,
        protected,
    )


# Columns no reader role is granted: contact hashes and pseudonyms. The loader already leaves
# contact columns out (catalog.served_columns); this holds for any table added to the schema.
PROTECTED_COLUMN = re.compile(r"sha256|hash|email|phone|pseudonym|lead_id", re.IGNORECASE)


def grant_readers(cur: psycopg.Cursor, schema: str, roles: list[str] | None = None) -> int:
    """Grant ``roles`` (default: every non-owner role with USAGE on ``schema``) SELECT on each
    table's and view's columns except protected ones; returns how many columns were withheld."""
    if roles is None:
        cur.execute(
            "select r.rolname from pg_namespace n cross join lateral aclexplode(n.nspacl) a "
            "join pg_roles r on r.oid = a.grantee where n.nspname = %s and a.privilege_type = 'USAGE' "
            "and a.grantee <> n.nspowner and not r.rolsuper order by 1",
            [schema],
        )
        roles = [row[0] for row in cur.fetchall()]
    if not roles:
        return 0
    cur.execute(
        "select table_name, array_agg(column_name::text order by ordinal_position) "
        "from information_schema.columns where table_schema = %s group by table_name order by 1",
        [schema],
    )
    withheld = 0
    for table, cols in cur.fetchall():
        readable = [c for c in cols if not PROTECTED_COLUMN.search(c)]
        withheld += len(cols) - len(readable)
        for role in roles:
            qualified, ident = sql.Identifier(schema, table), sql.Identifier(role)
            cur.execute(sql.SQL("revoke all on {} from {}").format(qualified, ident))
            if readable:
                cur.execute(
                    sql.SQL("grant select ({}) on {} to {}").format(
                        sql.SQL(", ").join(map(sql.Identifier, readable)), qualified, ident
                    )
                )
    return withheld
