"""Mart and output gates: keys, referential integrity, feature ranges and business rules."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, timedelta

import pandas as pd
import pytest
from conftest import RUN_DATE, candidates, read_sql, write_table

from tests.marts import write_marts
from xrec.quality import QualityGateFailed, validate_marts, validate_outputs, validation
from xrec.warehouse import connect


def test_good_marts_pass(marts):
    result = validate_marts(marts, RUN_DATE)

    assert result.passed, result.failures
    assert len(result.suites) == 9 and result.evaluated > 50


@pytest.mark.parametrize(
    "table, change, expectation, sample",
    [
        (
            "ml_interactions",
            lambda f: f.assign(person_id=["P1", "P9"]),
            "expect_column_values_to_be_in_set(person_is_known)",
            "person_id=P9",
        ),
        (
            "ml_items",
            lambda f: f.assign(risk_level=[None] * 6),
            "expect_column_values_to_be_in_set(finance_item_has_risk_level)",
            "item_key=finance:f_lo",
        ),
    ],
    ids=["unknown-person", "finance-without-risk"],
)
def test_broken_mart_stops_the_gate(marts, table, change, expectation, sample):
    write_table(marts, f"marts.{table}", change(read_sql(marts, f"select * from marts.{table}")))

    with pytest.raises(QualityGateFailed) as caught:
        validate_marts(marts, RUN_DATE)

    assert f"marts.{table}: {expectation} [error]" in str(caught.value)
    assert sample in str(caught.value)


def test_missing_mart_is_an_error(marts):
    with connect(marts) as con:
        con.execute("drop table marts.fct_interactions")

    with pytest.raises(QualityGateFailed, match="table marts.fct_interactions exists"):
        validate_marts(marts, RUN_DATE)


def test_good_candidates_pass(marts):
    write_table(marts, "main.recommendation_candidates", candidates())

    result = validate_outputs(marts, RUN_DATE)

    assert result.passed, result.failures
    assert result.suites[0].rows == 7


def _set(frame: pd.DataFrame, row: int, **values) -> pd.DataFrame:
    frame = frame.copy()
    for column, value in values.items():
        frame.loc[row, column] = value
    return frame


@pytest.mark.parametrize(
    "change, expectation, sample",
    [
        (lambda f: _set(f, 1, rank=3), "expect_column_values_to_be_in_set(rank_gap)", "recipient_id=u1"),
        (
            lambda f: _set(f, 3, recipient_id="u2", item_id="r1", partner="realty", person_id="P2"),
            "expect_column_values_to_be_in_set(item_not_owned)",
            "item_id=r1",
        ),
        (
            lambda f: _set(f, 2, item_id="f_hi"),
            "expect_column_values_to_be_in_set(within_risk_tolerance)",
            "item_id=f_hi",
        ),
        (
            lambda f: _set(f, 6, partner="realty", recipient_id="f1"),
            "expect_column_values_to_be_in_set(recipient_is_own)",
            "recipient_id=f1",
        ),
        (lambda f: _set(f, 0, score=float("inf")), "expect_column_values_to_be_in_set(score_is_finite)", "item_id=r1"),
    ],
    ids=["rank-gap", "owned-item", "risky-finance-item", "other-partners-customer", "infinite-score"],
)
def test_candidate_breaking_a_business_rule_stops_publishing(marts, change, expectation, sample):
    write_table(marts, "main.recommendation_candidates", change(candidates()))

    with pytest.raises(QualityGateFailed) as caught:
        validate_outputs(marts, RUN_DATE)

    assert f"outputs.cross_recommendations: {expectation} [error]" in str(caught.value)
    assert sample in str(caught.value)


def test_only_run_date_candidates_are_validated(marts):
    stale = _set(candidates(), 1, rank=5).assign(run_date=pd.Timestamp("2024-03-09").date())
    write_table(marts, "main.recommendation_candidates", pd.concat([candidates(), stale]))

    assert validate_outputs(marts, RUN_DATE).passed


def test_outputs_are_validated_per_partner_chunk_and_recorded_as_one_result(marts):
    broken = _set(_set(candidates(), 0, score=float("inf")), 6, score=float("-inf"))  # realty and finance chunks
    write_table(marts, "main.recommendation_candidates", broken)

    with pytest.raises(QualityGateFailed) as caught:
        validate_outputs(marts, RUN_DATE)

    (suite,) = caught.value.result.suites
    assert suite.rows == 7
    (failure,) = suite.failures
    assert failure.expectation == "expect_column_values_to_be_in_set(score_is_finite)"
    assert failure.unexpected_count == 2
    assert any("partner=realty" in row for row in failure.sample)
    assert any("partner=finance" in row for row in failure.sample)
    recorded = read_sql(marts, "select suite from data_quality_results where layer = 'outputs'")
    assert recorded["suite"].tolist() == ["outputs.cross_recommendations"]
    # one GX asset for the table; the page of each chunk's result names the run_date and chunk
    # (validations/<suite>/<run name>/<run time>/<datasource>-<asset>.html)
    pages = list((marts.artifacts / "data_docs" / "validations").rglob("*.html"))
    assert {page.name for page in pages} == {
        "xrec-main.recommendation_candidates.html",
        "xrec-main.recommendation_candidates.table.html",
    }
    chunks = {m for page in pages for m in re.findall(r"outputs-all-2024-03-10-\w{8}\.(\w+\.\w+)", page.read_text())}
    assert chunks == {f"{d}.{p}" for d in ("platform_to_partner", "partner_to_platform") for p in ("realty", "finance")}


def test_a_day_without_candidates_fails_the_output_gate(marts):
    write_table(marts, "main.recommendation_candidates", candidates().iloc[0:0])

    with pytest.raises(QualityGateFailed) as caught:
        validate_outputs(marts, RUN_DATE)

    assert "expect_table_row_count_to_be_between" in str(caught.value)


def test_fact_marts_validate_what_was_delivered_since_the_last_passed_gate(marts):
    validate_marts(marts, RUN_DATE)  # passes and validates every row
    later = RUN_DATE + timedelta(days=1)
    stale = read_sql(marts, "select * from marts.fct_interactions")
    # the next run: realty:i1 re-delivered on `later`; an old row (delivered 2024-03-05) that is
    # broken is not validated again row by row
    fct = _set(_set(stale, 1, delivered_date=pd.Timestamp(later)), 0, event_type=None)
    write_table(marts, "marts.fct_interactions", fct)
    pairs = read_sql(marts, "select * from marts.ml_interactions order by person_id")
    with connect(marts) as con:
        write_marts(con, {"ml_interactions": _set(pairs, 1, delivered_date=pd.Timestamp(later))})

    result = validate_marts(marts, later)

    rows = {suite.suite: suite.rows for suite in result.suites}
    assert rows["marts.fct_interactions"] == 1 and rows["marts.ml_interactions"] == 1
    # (a duplicate key anywhere in the table is dbt's unique test: tests/dbt/test_transform.py)


def _days_of_broken_facts(marts) -> None:
    """A first run's facts over three delivered days (1, 1 and 2 rows), broken on two of them."""
    day = [date(2024, 3, 8), date(2024, 3, 9), RUN_DATE, RUN_DATE]
    fct = pd.DataFrame(
        {
            "interaction_key": [f"platform:e{i}" for i in range(4)],
            "person_id": ["P1", "P1", "P2", "P3"],
            "item_key": ["platform:k1", "platform:k2", "realty:r1", "platform:k9"],
            "source": ["platform", "platform", "realty", "platform"],
            "event_type": [None, "view", "view", None],
            "rating": [None] * 4,
            "amount": [None] * 4,
            "occurred_at": pd.to_datetime(
                ["2024-03-08 10:00", "2024-03-09 10:00", "2024-03-10 23:00", "2024-03-10 9:00"]
            ),
            "delivered_date": day,
        }
    )
    write_table(marts, "marts.fct_interactions", fct)
    pairs = fct.assign(weight=1.0, event_count=1, first_at=fct["occurred_at"], last_at=fct["occurred_at"])
    pairs.loc[3, "item_key"] = "platform:k2"
    pairs.loc[1, "person_id"] = "P9"
    with connect(marts) as con:
        write_marts(
            con,
            {
                "ml_interactions": pairs[
                    ["person_id", "item_key", "weight", "event_count", "first_at", "last_at", "delivered_date"]
                ]
            },
        )


def _outcome(settings) -> dict:
    with pytest.raises(QualityGateFailed) as caught:
        validate_marts(settings, RUN_DATE)
    return {
        suite.suite: (
            suite.rows,
            sorted((f.expectation, f.severity, f.unexpected_count, sorted(f.sample)) for f in suite.failures),
        )
        for suite in caught.value.result.suites
    }


def test_a_first_run_is_validated_in_chunks_of_delivered_days_with_the_result_of_one_frame(marts):
    _days_of_broken_facts(marts)
    whole = _outcome(marts)

    chunked = _outcome(dataclasses.replace(marts, quality_chunk_rows=2))

    assert chunked == whole
    assert whole["marts.fct_interactions"][0] == 4 and whole["marts.ml_interactions"][0] == 4
    failed = {(suite, f[0]) for suite, (_, failures) in whole.items() for f in failures}
    assert ("marts.fct_interactions", "expect_column_values_to_not_be_null(event_type)") in failed
    assert ("marts.ml_interactions", "expect_column_values_to_be_in_set(person_is_known)") in failed
    # days 8 and 9 (one row each) are one chunk, day 10 (two rows) another
    docs = " ".join(path.read_text() for path in (marts.artifacts / "data_docs").rglob("*.html"))
    for chunk in ("2024-03-08..2024-03-09", "2024-03-10"):
        assert re.search(rf"marts-all-2024-03-10-\w{{8}}\.{re.escape(chunk)}", docs)


def test_daily_gates_leave_the_gx_project_config_the_same_size(marts):
    """Each day's fact-mart chunk is a batch of the table's one asset, not an asset of its own."""
    config = marts.artifacts / "gx" / "gx" / "great_expectations.yml"
    definitions = marts.artifacts / "gx" / "gx" / "validation_definitions"
    write_table(marts, "main.recommendation_candidates", candidates())
    sizes = []
    for day in range(4):
        run_date = RUN_DATE + timedelta(days=day)
        with connect(marts) as con:
            con.execute("update marts.fct_interactions set delivered_date = ?", [run_date])
            con.execute("update marts.ml_interactions set delivered_date = ?", [run_date])
        validate_marts(marts, run_date)
        validate_outputs(marts, RUN_DATE)
        sizes.append((config.read_text(), sorted(p.name for p in definitions.iterdir())))

    assert all(size == sizes[0] for size in sizes[1:])
    assert "2024-03-1" not in sizes[0][0]  # no dated asset or batch definition
    docs = " ".join(p.read_text() for p in (marts.artifacts / "data_docs" / "validations").rglob("*.html"))
    assert "marts-all-2024-03-13-" in docs and "marts-all-2024-03-10-" in docs


def test_data_docs_render_what_the_gate_validated_and_index_the_newest(marts, monkeypatch):
    monkeypatch.setattr(validation, "INDEX_RESULTS", 3)  # fewer than a marts gate validates
    docs = marts.artifacts / "data_docs"
    validate_marts(marts, RUN_DATE)
    first = {page: page.stat().st_mtime_ns for page in (docs / "validations").rglob("*.html")}

    validate_marts(marts, RUN_DATE)

    after = {page: page.stat().st_mtime_ns for page in (docs / "validations").rglob("*.html")}
    assert len(after) == 2 * len(first) > 6  # every result of each call has its page
    assert all(after[page] == built for page, built in first.items())  # kept, not rendered again
    # the index lists the newest results, here all of the last call's (more than the limit)
    linked = {docs / link for link in re.findall(r"(validations/[^\"'#?]+\.html)", (docs / "index.html").read_text())}
    assert linked == after.keys() - first.keys()
    assert "expectations/marts/dim_item.html" in (docs / "index.html").read_text()  # and every suite
