import pytest

from xrec.config import Settings
from xrec.warehouse import connect


def test_every_warehouse_connection_has_the_configured_buffer_pool(tmp_path):
    settings = Settings.isolated(tmp_path, {"XREC_DUCKDB_MEMORY_LIMIT": "256MB"})
    with connect(settings) as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == "244.1 MiB"
    with connect(settings, read_only=True) as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == "244.1 MiB"


def test_a_memory_limit_that_is_not_a_size_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="XREC_DUCKDB_MEMORY_LIMIT must be a size"):
        Settings.isolated(tmp_path, {"XREC_DUCKDB_MEMORY_LIMIT": "lots"}).validate()
