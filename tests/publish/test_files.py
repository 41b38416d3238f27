from datetime import date

import duckdb
import pyarrow.parquet as pq

from xrec.publish import publish
from xrec.publish.files import parquet_path, snapshot_path

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)
SERVED = (
    "cross_recommendations",
    "model_runs",
    "data_quality_results",
    "dim_person",
    "dim_item",
    "bi_segment_profiles",
    "bi_partner_overlap",
)


def test_parquet_copies_hold_one_run_date_each(settings, warehouse):
    warehouse(D1, "v1")
    warehouse(D2, "v2")
    publish(settings, D1)
    summary = publish(settings, D2)

    assert set(summary.parquet) == set(SERVED)
    recs = pq.read_table(parquet_path(settings, "cross_recommendations", D2)).to_pandas()
    assert len(recs) == 64 and set(recs["model_version"]) == {"v2"}
    runs = pq.read_table(parquet_path(settings, "model_runs", D1)).to_pandas()
    assert list(runs["model_version"]) == ["v1"]
    assert not list(settings.artifacts.rglob("*.tmp")), "temporary files left behind"


def test_republishing_rewrites_identical_parquet_bytes(settings, warehouse):
    warehouse(D1, "v1")
    publish(settings, D1)
    path = parquet_path(settings, "cross_recommendations", D1)
    before = path.read_bytes()
    publish(settings, D1)
    assert path.read_bytes() == before


def test_snapshot_is_a_standalone_read_only_copy(settings, warehouse):
    warehouse(D1, "v1")
    warehouse(D2, "v2")
    publish(settings, D1)
    publish(settings, D2)

    with duckdb.connect(str(snapshot_path(settings)), read_only=True) as snap:
        tables = {row[0] for row in snap.execute("select table_name from information_schema.tables").fetchall()}
        assert tables == {*SERVED, "cross_recommendations_current"}
        assert snap.execute("select count(*) from cross_recommendations").fetchone()[0] == 128
        assert snap.execute("select distinct model_version from cross_recommendations_current").fetchall() == [("v2",)]


def test_snapshot_swap_keeps_an_open_reader_on_the_old_copy(settings, warehouse):
    warehouse(D1, "v1")
    publish(settings, D1)
    with duckdb.connect(str(snapshot_path(settings)), read_only=True) as reader:
        warehouse(D2, "v2")
        publish(settings, D2)
        assert reader.execute("select count(*) from cross_recommendations").fetchone()[0] == 64
    with duckdb.connect(str(snapshot_path(settings)), read_only=True) as fresh:
        assert fresh.execute("select count(*) from cross_recommendations").fetchone()[0] == 128
