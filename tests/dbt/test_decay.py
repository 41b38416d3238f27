"""Recency decay at read time: history rows do not depend on run_date, old pairs keep weight > 0."""

from __future__ import annotations

from datetime import date

import duckdb

from xrec.config import Settings
from xrec.transform import dbt_build


def query(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_pair_last_seen_years_ago_keeps_a_positive_weight(tiny_raw: Settings, tiny_run_date: date) -> None:
    # user 3 viewed C1 once, about 2.5 years (32 half-lives) before run_date: 1.0 * 0.5^32 ~ 2e-10,
    # which rounding to 9 decimals made 0 and the `weight > 0` test failed the whole build
    with duckdb.connect(str(tiny_raw.warehouse)) as con:
        con.execute(
            "insert into raw.platform__events values ('E0', '3', 'C1', 'view', null, null, "
            "'2023-08-26 10:00:00', '2026-03-01', 'platform/events/2026-03-01.csv', 99)"
        )
    dbt_build(tiny_raw, tiny_run_date)
    [(weight, last_at)] = query(
        tiny_raw,
        "select weight, last_at from marts.ml_interactions where person_id = 'platform:3' and item_key = 'platform:C1'",
    )
    assert str(last_at) == "2023-08-26 10:00:00"
    expected = 0.5 ** ((date(2026, 3, 3) - date(2023, 8, 26)).days / 30 - 10 / 24 / 30)
    assert 0 < weight and abs(weight - expected) / expected < 1e-8


def test_history_rows_do_not_depend_on_run_date(tiny_raw: Settings, tiny_run_date: date) -> None:
    dbt_build(tiny_raw, tiny_run_date)
    sql = "select * from intermediate.int_interactions_unified order by interaction_key"
    before = query(tiny_raw, sql)
    weights = dict(query(tiny_raw, "select person_id || item_key, weight from marts.ml_interactions"))
    later = date(2026, 4, 1)
    dbt_build(tiny_raw, later)
    # the late delivery of 2026-03-03 adds rows; every row already there is unchanged
    assert set(before) < set(query(tiny_raw, sql))
    decayed = dict(query(tiny_raw, "select person_id || item_key, weight from marts.ml_interactions"))
    for pair, weight in weights.items():
        assert 0 < decayed[pair] < weight
