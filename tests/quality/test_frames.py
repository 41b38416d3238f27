"""fetch_frame builds through Arrow the frame DuckDB's .df() makes: the suites' verdicts depend on the dtypes."""

from __future__ import annotations

import duckdb
import pandas as pd

from xrec.quality.frames import fetch_frame

TYPES_SQL = """
select * from (values
    (date '2024-03-10', 24345.16::decimal(18, 2), 3::integer, 7::integer, null::varchar, 'a', true),
    (null, null, null, 8, null, null, false)
) as t(day, price, risk_level, rank, unparsed, name, flag)
"""


def test_fetch_frame_is_the_frame_duckdb_df_makes():
    con = duckdb.connect()
    expected = con.execute(TYPES_SQL).df()
    frame = fetch_frame(con, TYPES_SQL)
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)


def test_fetch_frame_binds_parameters_and_keeps_empty_results():
    con = duckdb.connect()
    sql = "select i, i::varchar as s from range(3) t(i) where i >= ?"
    pd.testing.assert_frame_equal(fetch_frame(con, sql, [1]), con.execute(sql, [1]).df())
    pd.testing.assert_frame_equal(fetch_frame(con, sql, [9]), con.execute(sql, [9]).df())
