"""The ``raw`` schema: entity tables, ``raw.quarantine`` and ``raw.load_audit``.

Every write replaces one (source, entity, delivery_date) partition in all three tables; the
caller wraps them in one transaction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb

from xrec.catalog import LOAD_AUDIT, QUARANTINE
from xrec.ingest.checks import Rule, bad_value_sql, first_violation_sql, rules_values_sql
from xrec.ingest.entities import Entity
from xrec.ingest.reader import StagedFile, quote_ident

METADATA_COLUMNS = {"_delivery_date": "DATE", "_source_file": "VARCHAR", "_source_line": "BIGINT"}

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE IF NOT EXISTS {LOAD_AUDIT.relation} (
    source VARCHAR, entity VARCHAR, delivery_date DATE, path VARCHAR, size_bytes BIGINT,
    sha256 VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT,
    loaded_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS {QUARANTINE.relation} (
    source VARCHAR, entity VARCHAR, delivery_date DATE, source_file VARCHAR,
    source_line BIGINT, record_key VARCHAR, rule VARCHAR, column_name VARCHAR, bad_value VARCHAR
);
"""


def raw_table(source: str, entity: str) -> str:
    """``raw.<source>__<entity>``."""
    return f"raw.{quote_ident(f'{source}__{entity}')}"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and its bookkeeping tables when missing."""
    con.execute(_DDL)


def audited_digests(con: duckdb.DuckDBPyConnection, source: str, delivery_date: date) -> dict[str, str]:
    """entity -> sha256 of the file last loaded for (source, delivery_date)."""
    rows = con.execute(
        f"SELECT entity, sha256 FROM {LOAD_AUDIT.relation} WHERE source = ? AND delivery_date = ?",
        [source, delivery_date],
    ).fetchall()
    return dict(rows)


def _ensure_raw_table(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...]) -> None:
    """Create the raw table, or add the columns a later delivery brings (older rows NULL)."""
    definition = ", ".join(f"{quote_ident(c)} VARCHAR" for c in columns)
    metadata = ", ".join(f"{c} {t}" for c, t in METADATA_COLUMNS.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({definition}, {metadata})")
    schema, name = table.split(".", 1)
    existing = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
            [schema, name.strip('"')],
        ).fetchall()
    }
    for column in columns:
        if column not in existing:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {quote_ident(column)} VARCHAR")


def delete_partition(con: duckdb.DuckDBPyConnection, source: str, entity: str, delivery_date: date) -> None:
    """Remove (source, entity, delivery_date) from the raw table, quarantine and audit."""
    table = raw_table(source, entity)
    if con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' AND table_name = ?",
        [f"{source}__{entity}"],
    ).fetchall()[0][0]:
        con.execute(f"DELETE FROM {table} WHERE _delivery_date = ?", [delivery_date])
    for bookkeeping in (QUARANTINE.relation, LOAD_AUDIT.relation):
        con.execute(
            f"DELETE FROM {bookkeeping} WHERE source = ? AND entity = ? AND delivery_date = ?",
            [source, entity, delivery_date],
        )


def replace_partition(
    con: duckdb.DuckDBPyConnection,
    staged: StagedFile,
    source: str,
    entity: Entity,
    delivery_date: date,
    rules: list[Rule],
) -> tuple[int, int]:
    """Write a staged file as the (source, entity, delivery_date) partition.

    Clean rows go to the raw table, rule breakers and malformed records to ``raw.quarantine``,
    and one row to ``raw.load_audit``. Returns (rows loaded, rows quarantined).
    """
    table = raw_table(source, entity.name)
    _ensure_raw_table(con, table, staged.columns)
    delete_partition(con, source, entity.name, delivery_date)
    checked = f"{staged.table}_checked"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {checked} AS "
        f"SELECT *, {first_violation_sql(rules)} AS _rule_index FROM {staged.table}"
    )
    columns = ", ".join(quote_ident(c) for c in staged.columns)
    path = staged.file.relative_path
    con.execute(
        f"INSERT INTO {table} BY NAME SELECT {columns}, ?::DATE AS _delivery_date, "
        f"? AS _source_file, _source_line FROM {checked} WHERE _rule_index IS NULL",
        [delivery_date, path],
    )
    record_key = "NULLIF(concat_ws(':', " + ", ".join(quote_ident(k) for k in entity.key) + "), '')"
    con.execute(
        f"INSERT INTO {QUARANTINE.relation} "
        f"SELECT ?, ?, ?::DATE, ?, c._source_line, {record_key}, r.rule, r.column_name, "
        f"{bad_value_sql(rules, 'c._rule_index')} "
        f"FROM {checked} c JOIN ({rules_values_sql(rules)}) r ON c._rule_index = r.rule_index "
        f"UNION ALL SELECT ?, ?, ?::DATE, ?, source_line, NULL, 'malformed_row', NULL, bad_value "
        f"FROM {staged.table}_malformed ORDER BY 5",
        [source, entity.name, delivery_date, path] * 2,
    )
    quarantined = (
        staged.rows_malformed
        + con.execute(f"SELECT count(*) FROM {checked} WHERE _rule_index IS NOT NULL").fetchall()[0][0]
    )
    loaded = staged.rows_read - quarantined
    con.execute(
        f"INSERT INTO {LOAD_AUDIT.relation} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            source,
            entity.name,
            delivery_date,
            path,
            staged.file.size_bytes,
            staged.file.sha256,
            staged.rows_read,
            loaded,
            quarantined,
            datetime.now(UTC).replace(tzinfo=None),
        ],
    )
    con.execute(f"DROP TABLE {checked}")
    return loaded, quarantined
