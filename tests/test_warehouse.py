import duckdb
import pytest

from xrec.config import Settings
from xrec.warehouse import connect, day_of_recommendations


def test_every_warehouse_connection_has_the_configured_buffer_pool(tmp_path):
    settings = Settings.isolated(tmp_path, {"XREC_DUCKDB_MEMORY_LIMIT": "256MB"})
    with connect(settings) as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == "244.1 MiB"
    with connect(settings, read_only=True) as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == "244.1 MiB"


def test_a_memory_limit_that_is_not_a_size_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="XREC_DUCKDB_MEMORY_LIMIT must be a size"):
        Settings.isolated(tmp_path, {"XREC_DUCKDB_MEMORY_LIMIT": "lots"}).validate()


def test_a_day_of_recommendations_is_stored_with_zstd_and_the_settings_come_back(tmp_path):
    """Inside the block strings are stored with zstd (half DuckDB's default choice at M50); after
    it, even when the insert fails, other writes choose their own compression and threads."""
    settings = Settings.isolated(tmp_path, {})
    with connect(settings) as con:
        con.execute("set threads = 3")
        con.execute("create table day (reason varchar)")
        with day_of_recommendations(con):
            con.execute("insert into day select 'because you read ' || i::varchar from range(200000) t(i)")
        con.execute("checkpoint")
        stored = con.execute(
            "select distinct compression from pragma_storage_info('day') where segment_type = 'VARCHAR'"
        ).fetchall()
        assert stored == [("ZSTD",)]
        with pytest.raises(duckdb.Error), day_of_recommendations(con):
            con.execute("insert into day select 1 / 0 from missing_table")
        assert con.execute("select current_setting('threads'), current_setting('force_compression')").fetchone() == (
            3,
            "auto",
        )
