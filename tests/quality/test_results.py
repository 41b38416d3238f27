"""data_quality_results rows, rerun idempotency, the day's summary and the suite files."""

from __future__ import annotations

import json

import pytest
from conftest import RUN_DATE, platform_events, read_sql, realty_customers, write_raw

from xrec.quality import QualityGateFailed, summarise, validate_raw
from xrec.quality.suites import LAYERS, load_suites


def test_failed_gate_is_recorded_before_raising_and_rerun_replaces_its_rows(settings):
    customers = realty_customers()
    customers.loc[0, "phone_sha256"] = "13800000000"
    write_raw(settings, "realty", "customers", customers)
    with pytest.raises(QualityGateFailed):
        validate_raw(settings, "realty", RUN_DATE)

    rows = read_sql(settings, "select * from data_quality_results where suite = 'raw.customers'")
    assert len(rows) == 1 and not rows.loc[0, "passed"] and rows.loc[0, "failed_expectations"] == 1
    failure = json.loads(rows.loc[0, "failures"])[0]
    assert failure["expectation"] == "expect_column_values_to_match_regex(phone_sha256)"
    assert failure["severity"] == "error" and failure["unexpected_count"] == 1
    assert "customer_id=c1" in failure["sample"][0]

    write_raw(settings, "realty", "customers", realty_customers())  # the partner re-delivers a fix
    validate_raw(settings, "realty", RUN_DATE)
    validate_raw(settings, "realty", RUN_DATE)

    rows = read_sql(settings, "select suite, passed from data_quality_results order by suite")
    assert rows["suite"].tolist() == ["raw.customers", "raw.interactions", "raw.items", "raw.outcomes"]
    assert rows["passed"].all()


def test_summary_counts_per_layer(settings):
    events = platform_events(8)
    events.loc[1, "event_id"] = events.loc[0, "event_id"]
    write_raw(settings, "platform", "events", events)
    validate_raw(settings, "platform", RUN_DATE)

    summary = summarise(settings, RUN_DATE)

    assert summary.splitlines()[0] == "data quality 2024-03-10:"
    assert "raw      suites   3: 3 passed, 0 failed (0 failed / 1 warned expectations, 0 quarantined rows)" in summary
    assert summarise(settings, RUN_DATE.replace(day=11)).endswith("no suites recorded")


@pytest.mark.parametrize("layer", LAYERS)
def test_every_suite_file_loads_with_severities(settings, layer):
    suites = load_suites(settings.expectations_dir, layer)

    assert suites
    for suite in suites:
        assert all(e["meta"]["severity"] in ("error", "warn") for e in suite.expectations), suite.path
        assert layer == "raw" or "table" in suite.meta
