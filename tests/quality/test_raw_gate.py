"""Raw gate: one source's delivery of run_date, validated per entity suite."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from conftest import (
    RUN_DATE,
    history,
    platform_events,
    read_sql,
    realty_customers,
    realty_items,
    write_quarantine,
    write_raw,
)

from xrec.quality import QualityGateFailed, validate_raw


def test_good_delivery_passes_and_lists_quarantined_rows(settings):
    write_raw(settings, "realty", "items", realty_items())
    write_quarantine(
        settings,
        [
            ("realty", "items", RUN_DATE, "realty/2024-03-10/items.csv", 7, "r9", "range:price", "price", "-3"),
            ("finance", "items", RUN_DATE, "finance/2024-03-10/items.csv", 3, "f9", "type:price", "price", "x"),
        ],
    )

    result = validate_raw(settings, "realty", RUN_DATE)

    assert result.passed and result.failed == 0 and result.warned == 0
    items = next(s for s in result.suites if s.suite == "raw.items")
    assert items.rows == 2 and items.evaluated == 7 and items.quarantined_rows == 1
    listing = settings.artifacts / "data_docs" / "quarantine" / "realty" / "2024-03-10.html"
    assert "range:price" in listing.read_text() and "r9" in listing.read_text()
    assert "f9" not in listing.read_text()  # another partner's rows are not shown to realty
    assert (settings.artifacts / "data_docs" / "index.html").exists()


def test_no_drop_that_day_is_recorded_as_passed_with_zero_rows(settings):
    write_raw(settings, "realty", "items", realty_items())

    result = validate_raw(settings, "finance", RUN_DATE)

    assert result.passed and result.evaluated == 0
    assert {s.note for s in result.suites} == {"no delivery on run_date: nothing to validate"}
    rows = read_sql(settings, "select suite, passed from data_quality_results where source = 'finance'")
    assert len(rows) == 4 and rows["passed"].all()


def test_a_backlog_is_judged_delivery_by_delivery(settings):
    # Three pending days: the second re-sends an event of the first (a change, not a duplicate);
    # the third holds a duplicate of its own, which still warns. Each day is a chunk of its own.
    first, second = RUN_DATE - timedelta(days=2), RUN_DATE - timedelta(days=1)
    write_raw(settings, "platform", "events", platform_events(4, first), first)
    resent = pd.concat([platform_events(4, second), platform_events(4, first).head(1)], ignore_index=True)
    write_raw(settings, "platform", "events", resent, second)
    today = platform_events(3)
    today.loc[1, "event_id"] = today.loc[0, "event_id"]
    write_raw(settings, "platform", "events", today)

    result = validate_raw(settings, "platform", RUN_DATE, [first, second, RUN_DATE])

    events = next(s for s in result.suites if s.suite == "raw.events")
    assert events.rows == 4 + 5 + 3
    assert result.passed and result.warned == 1
    assert result.failures[0].expectation == "expect_column_values_to_be_unique(event_id)"
    assert result.failures[0].unexpected_count == 2  # today's two rows, not the re-sent event


def test_duplicate_key_in_a_delivery_only_warns(settings):
    events = platform_events(8)
    events.loc[1, "event_id"] = events.loc[0, "event_id"]
    write_raw(settings, "platform", "events", events)

    result = validate_raw(settings, "platform", RUN_DATE)

    assert result.passed and result.warned == 1
    assert result.failures[0].expectation == "expect_column_values_to_be_unique(event_id)"
    assert result.failures[0].unexpected_count == 2


# A value breaking the contract's types, ranges or time (negative or unparsable price, a future
# timestamp) is ingest's rule: the row is quarantined and never reaches raw.* (see
# tests/ingest/test_ingest_quarantine.py). The gate checks what a row rule cannot, and what is
# not in the contract's types, such as the shape of a partner's hashes.
def test_bad_value_stops_the_gate_naming_suite_expectation_and_row(settings):
    customers = realty_customers()
    customers.loc[1, "email_sha256"] = "not-a-hash"
    write_raw(settings, "realty", "customers", customers)

    with pytest.raises(QualityGateFailed) as caught:
        validate_raw(settings, "realty", RUN_DATE)

    message = str(caught.value)
    assert "raw gate source=realty run_date=2024-03-10" in message
    assert "raw.customers: expect_column_values_to_match_regex(email_sha256) [error]: 1 unexpected" in message
    assert "not-a-hash" in message and "customer_id=c2" in message and "_source_line=3" in message


def test_dropped_vertical_column_fails_the_schema_expectation(settings):
    write_raw(settings, "realty", "items", realty_items().drop(columns=["area_sqm"]))

    with pytest.raises(QualityGateFailed, match="missing columns: area_sqm"):
        validate_raw(settings, "realty", RUN_DATE)


def test_row_count_collapse_against_previous_deliveries_fails(settings):
    history(settings, "platform", "events", [400, 120, 100, 110])
    write_raw(settings, "platform", "events", platform_events(8))

    with pytest.raises(QualityGateFailed, match=r"expect_table_row_count_to_be_between \[error\].*observed: 8"):
        validate_raw(settings, "platform", RUN_DATE)


def test_row_count_within_band_passes(settings):
    history(settings, "platform", "events", [400, 120, 100, 110])
    write_raw(settings, "platform", "events", platform_events(60))

    assert validate_raw(settings, "platform", RUN_DATE).passed
