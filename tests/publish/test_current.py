from datetime import date

import duckdb
import pytest

from xrec.publish import publish
from xrec.publish.errors import PublishError

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


def _read(settings, sql):
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_publish_promotes_candidates_and_points_current_at_latest_run(settings, warehouse):
    warehouse(D1, "v1")
    warehouse(D2, "v2")
    first = publish(settings, D1)
    second = publish(settings, D2)

    assert first.published and second.published and second.rows == 64
    assert _read(settings, "select run_date, count(*) from cross_recommendations group by 1 order by 1") == [
        (D1, 64),
        (D2, 64),
    ]
    assert _read(settings, "select distinct run_date, model_version from cross_recommendations_current") == [(D2, "v2")]
    assert _read(settings, "select model_version, is_published from model_runs order by 1") == [
        ("v1", True),
        ("v2", True),
    ]


def test_republishing_a_date_yields_identical_tables(settings, warehouse):
    warehouse(D1, "v1")
    publish(settings, D1)
    before = _read(settings, "select * from cross_recommendations order by all")
    publish(settings, D1)
    assert _read(settings, "select * from cross_recommendations order by all") == before


def test_backfilling_an_older_date_keeps_current_on_the_latest_run(settings, warehouse):
    warehouse(D1, "v1")
    warehouse(D2, "v2")
    publish(settings, D2)
    publish(settings, D1)
    assert _read(settings, "select distinct run_date from cross_recommendations_current") == [(D2,)]


def test_run_without_candidates_publishes_nothing_and_leaves_current_unchanged(settings, warehouse):
    warehouse(D1, "v1")
    publish(settings, D1)
    current_before = _read(settings, "select * from cross_recommendations_current order by all")
    warehouse(D2, "v2", candidates=False)

    summary = publish(settings, D2)

    assert not summary.published and summary.rows == 0 and summary.current_run_date == D1
    assert summary.exports == {}
    assert _read(settings, "select * from cross_recommendations_current order by all") == current_before
    assert _read(settings, "select is_published from model_runs where model_version = 'v2'") == [(False,)]


def test_first_day_without_candidates_creates_no_history(settings, warehouse):
    warehouse(D1, "v1", candidates=False)
    summary = publish(settings, D1)
    assert not summary.published and summary.current_run_date is None
    assert "cross_recommendations" not in summary.parquet


def test_candidates_missing_a_contract_column_are_refused_with_the_column_named(settings, warehouse):
    warehouse(D1, "v1")
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("alter table recommendation_candidates drop column reason")
    with pytest.raises(PublishError, match=r"recommendation_candidates lacks columns \['reason'\]"):
        publish(settings, D1)
    assert _read(
        settings, "select count(*) from information_schema.tables where table_name = 'cross_recommendations'"
    ) == [(0,)]
