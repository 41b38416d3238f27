from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from xrec.config import Settings
from xrec.publish import publish
from xrec.publish.current import publish_partition
from xrec.publish.files import parquet_path, snapshot_path, write_snapshot
from xrec.warehouse import connect

D1, D2, D3, D4 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)
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
    # The current view reads the snapshot's own history under whatever name a reader gives it.
    with duckdb.connect() as reader:
        reader.execute(f"attach '{snapshot_path(settings)}' as bi (read_only)")
        assert reader.execute("select distinct run_date from bi.cross_recommendations_current").fetchall() == [(D2,)]


def test_snapshot_swap_keeps_an_open_reader_on_the_old_copy(settings, warehouse):
    warehouse(D1, "v1")
    publish(settings, D1)
    with duckdb.connect(str(snapshot_path(settings)), read_only=True) as reader:
        warehouse(D2, "v2")
        publish(settings, D2)
        assert reader.execute("select count(*) from cross_recommendations").fetchone()[0] == 64
    with duckdb.connect(str(snapshot_path(settings)), read_only=True) as fresh:
        assert fresh.execute("select count(*) from cross_recommendations").fetchone()[0] == 128


def _contents(path: Path) -> dict[str, tuple[str, list[tuple]]]:
    """Every table and view of a snapshot file: its kind and its rows in a stable order."""
    with duckdb.connect(str(path), read_only=True) as snap:
        objects = snap.execute("select table_name, table_type from information_schema.tables").fetchall()
        return {name: (kind, snap.execute(f'select * from "{name}" order by all').fetchall()) for name, kind in objects}


def _updated_and_rebuilt(settings: Settings, run_date: date) -> tuple[dict, dict]:
    """What the published snapshot holds, then what a rebuild from the warehouse holds."""
    updated = _contents(snapshot_path(settings))
    snapshot_path(settings).unlink()
    with connect(settings) as con:
        assert write_snapshot(con, settings, run_date).rebuilt == "no previous snapshot"
    return updated, _contents(snapshot_path(settings))


def test_daily_publishes_update_the_snapshot_to_what_a_rebuild_holds(settings, warehouse):
    rebuilt = []
    for run_date, version, candidates in ((D1, "v1", True), (D2, "v2", True), (D3, "v3", False), (D4, "v4", True)):
        warehouse(run_date, version, candidates)
        rebuilt.append(publish(settings, run_date).snapshot.rebuilt)
    warehouse(D2, "v2b")  # an older day rerun and published again: its partition is replaced
    rebuilt.append(publish(settings, D2).snapshot.rebuilt)

    assert rebuilt == ["no previous snapshot", None, None, None, None]
    updated, full = _updated_and_rebuilt(settings, D2)
    assert updated == full
    assert updated["cross_recommendations_current"][0] == "VIEW"
    assert {row[1] for row in updated["cross_recommendations_current"][1]} == {"v4"}
    assert {row[1] for row in updated["cross_recommendations"][1] if row[0] == D2} == {"v2", "v2b"}
    assert len(updated["model_runs"][1]) == 5


def test_a_failed_update_leaves_the_previous_snapshot_in_place(settings, warehouse):
    warehouse(D1, "v1")
    publish(settings, D1)
    before = _contents(snapshot_path(settings))
    warehouse(D2, "v2")
    with connect(settings) as con:
        publish_partition(con, D2)
        # A served mart that fails when read: the copy already holds D2's partition by then.
        con.execute("create table marts.feedback_raw as select 'not a number' as clicks")
        con.execute(
            "create view marts.bi_feedback_daily as select cast(clicks as integer) as clicks from marts.feedback_raw"
        )
        with pytest.raises(duckdb.ConversionException):
            write_snapshot(con, settings, D2)
        assert _contents(snapshot_path(settings)) == before
        # The snapshot's forced zstd storage ends with it: the warehouse's writes choose their own.
        assert con.execute("select current_setting('force_compression')").fetchone()[0] == "auto"
        assert [p.name for p in snapshot_path(settings).parent.iterdir()] == ["warehouse.duckdb"]

        con.execute("drop view marts.bi_feedback_daily")
        assert write_snapshot(con, settings, D2).rebuilt is None  # the connection is fine afterwards
    assert len(_contents(snapshot_path(settings))["cross_recommendations"][1]) == 128


def _rerun_without_its_snapshot(con: duckdb.DuckDBPyConnection) -> None:
    # D1 scored again by another model (as many rows) and published; the snapshot step never ran.
    con.execute("update main.recommendation_candidates set model_version = 'v1b' where run_date = ?", [D1])
    publish_partition(con, D1)


def _new_column(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("alter table main.cross_recommendations add column channel varchar default 'email'")


def _purged_day(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("delete from main.cross_recommendations where run_date = ?", [D1])


@pytest.mark.parametrize("drift", [_rerun_without_its_snapshot, _new_column, _purged_day])
def test_history_drift_rebuilds_the_snapshot(settings, warehouse, drift):
    warehouse(D1, "v1")
    warehouse(D2, "v2")
    publish(settings, D1)
    publish(settings, D2)
    with connect(settings) as con:
        drift(con)
    warehouse(D3, "v3")

    assert "differ from the warehouse" in publish(settings, D3).snapshot.rebuilt
    updated, full = _updated_and_rebuilt(settings, D3)
    assert updated == full
