"""xrec.catalog, the one list of the tables Python writes, agrees with their dbt documentation."""

from __future__ import annotations

import yaml

from xrec import catalog
from xrec.config import PROJECT_ROOT

SOURCES_YML = PROJECT_ROOT / "dbt_project" / "models" / "outputs" / "_outputs__sources.yml"


def _documented() -> dict[str, dict]:
    (source,) = yaml.safe_load(SOURCES_YML.read_text())["sources"]
    assert source["schema"] == "main"
    return {table["name"]: table for table in source["tables"]}


def test_every_output_table_is_documented_with_its_columns():
    documented = _documented()
    assert sorted(documented) == sorted(t.name for t in catalog.OUTPUT_TABLES)
    for table in catalog.OUTPUT_TABLES:
        assert table.schema == "main"
        columns = [c["name"] for c in documented[table.name].get("columns", [])]
        if table is catalog.RECOMMENDATION_CANDIDATES:  # documented as "same columns as" the published table
            assert table.columns == catalog.CROSS_RECOMMENDATIONS.columns and not columns
            continue
        assert columns == table.column_names, table.name


def test_ddl_creates_the_catalogued_columns(tmp_path):
    import duckdb

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for table in catalog.OUTPUT_TABLES:
        con.execute(table.ddl())
        for statement in table.add_missing_columns():
            con.execute(statement)
        got = con.execute(
            "select column_name from information_schema.columns where table_schema = ? "
            "and table_name = ? order by ordinal_position",
            [table.schema, table.name],
        ).fetchall()
        assert [name for (name,) in got] == table.column_names


def test_direction_and_variant_values():
    assert {d.value for d in catalog.Direction} == {catalog.PLATFORM_TO_PARTNER, catalog.PARTNER_TO_PLATFORM}
    assert {v.value for v in catalog.Variant} == {catalog.MODEL, catalog.CONTROL}
