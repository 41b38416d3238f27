"""The feedback loop on a generated sample: day D-1 publishes, partners react (simulated), and
day D's build turns their outcomes into CTR/conversion marts and an A/B read-out."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from xrec import daily
from xrec.config import Settings
from xrec.privacy.keys import new_keys, write_keys_file
from xrec_tools.feedback import NothingDelivered, simulate_outcomes
from xrec_tools.sample import generate

pytestmark = pytest.mark.e2e

# the e2e sample (tests/e2e/conftest.py), on which the model is promoted on its last two days
START, DAYS, USERS, SEED = date(2026, 11, 1), 10, 1000, 11
DAY = START + timedelta(days=DAYS - 1)
DELIVERED = DAY - timedelta(days=1)
PARTNERS = ("realty", "finance", "home", "automod")
STRAY = ("C-NOT-RECOMMENDED", "C-STRAY")  # (customer_id, item_id) of an outcome nobody was sent


@dataclass
class Loop:
    settings: Settings
    outcome_files: list[Path]

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.settings.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()


def run_day(settings: Settings, run_date: date) -> None:
    """The daily job's steps in order, as the DAG runs them."""
    gates = []
    for source in daily.plan_sources(settings):
        daily.ingest(settings, source, run_date)
        gates.append(daily.gate_raw(settings, source, run_date))
    daily.build_warehouse(settings, run_date, gates)
    daily.gate_marts(settings, run_date)
    daily.train_and_evaluate(settings, run_date)
    daily.score(settings, run_date)
    daily.gate_outputs(settings, run_date)
    daily.publish(settings, run_date)


def add_stray_outcome(path: Path) -> None:
    """A partner reports a click on something xrec never delivered to that customer."""
    with path.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow([*STRAY, DELIVERED.isoformat(), "click", f"{DAY}T10:00:00"])


@pytest.fixture(scope="module")
def loop(tmp_path_factory) -> Loop:
    root = tmp_path_factory.mktemp("feedback")
    settings = Settings.isolated(
        root,
        {
            # half the customers in control: enough of both arms at this size to read the uplift
            "XREC_CONTROL_SHARE": "0.5",
        },
    )
    write_keys_file(settings.export_keys_file, new_keys(settings.partners))
    generate(settings.landing, START, DAYS, USERS, SEED)
    run_day(settings, DELIVERED)
    files = simulate_outcomes(settings, DELIVERED)
    add_stray_outcome(files[0])
    run_day(settings, DAY)
    daily.report(settings, DAY)
    return Loop(settings, files)


def test_simulated_outcomes_land_in_the_next_days_partner_drops(loop):
    assert sorted(p.parent.parent.name for p in loop.outcome_files) == sorted(PARTNERS)
    assert {p.parent.name for p in loop.outcome_files} == {DAY.isoformat()}


def test_daily_feedback_covers_every_partner_and_both_variants(loop):
    rows = loop.query(
        """
        select partner, variant, recommendations_delivered, impressions, clicks, conversions,
               ctr, ctr_ci_low, ctr_ci_high, conversion_rate, conversion_rate_ci_low, conversion_rate_ci_high
        from marts.bi_feedback_daily where recommended_date = ? and variant <> 'unmatched'""",
        [DELIVERED],
    )
    assert {(r[0], r[1]) for r in rows} == {(p, v) for p in PARTNERS for v in ("model", "control")}
    for _, _, delivered, shown, clicks, conversions, ctr, low, high, rate, rate_low, rate_high in rows:
        assert 0 < shown <= delivered and clicks <= shown and conversions <= shown
        assert 0 <= low <= ctr <= high <= 1
        assert 0 <= rate_low <= rate <= rate_high <= 1
        assert ctr == pytest.approx(clicks / shown)
    # the recommendations published today have not reached the partners yet
    assert loop.query("select count(*) from marts.bi_feedback_daily where recommended_date = ?", [DAY]) == [(0,)]


def test_feedback_by_rank_falls_off_down_the_list(loop):
    ((top, bottom),) = loop.query(
        """
        select sum(clicks) filter (where rank <= 3) / sum(impressions) filter (where rank <= 3),
               sum(clicks) filter (where rank >= 8) / sum(impressions) filter (where rank >= 8)
        from marts.bi_feedback_by_rank where recommended_date = ? and variant = 'model'""",
        [DELIVERED],
    )
    assert top > bottom


def test_outcomes_matching_no_delivered_recommendation_are_counted(loop):
    partner = loop.outcome_files[0].parent.parent.name
    assert loop.query("""
        select partner, variant, model_version, clicks, recommendations_delivered
        from marts.bi_feedback_daily where variant = 'unmatched'""") == [(partner, "unmatched", None, 1, 0)]
    unmatched = dict(
        loop.query("select partner, unmatched_outcome_events from marts.bi_ab_uplift where metric = 'ctr'")
    )
    assert unmatched[partner] == 1 and unmatched["all"] == 1


def test_ab_uplift_shows_the_model_beating_the_popularity_control(loop):
    rows = loop.query("""
        select partner, model_impressions, control_impressions, model_rate, control_rate, uplift_abs,
               uplift_ci_low, uplift_ci_high, is_significant
        from marts.bi_ab_uplift where metric = 'ctr' order by partner""")
    assert {r[0] for r in rows} == {*PARTNERS, "all"}
    overall = next(r for r in rows if r[0] == "all")
    _, n_model, n_control, model, control, uplift, low, high, significant = overall
    assert n_model > 500 and n_control > 500
    assert model > control and uplift == pytest.approx(model - control)
    assert low < uplift < high and low > 0 and significant


def test_report_plots_model_against_control(loop):
    page = (loop.settings.artifacts / "reports" / f"{DAY}.html").read_text(encoding="utf-8")
    assert 'id="fig-outcomes"' in page and "data:image/png" in page.split('id="fig-outcomes"')[1]


def test_simulating_a_day_without_published_recommendations_says_so(loop):
    with pytest.raises(NothingDelivered, match=str(START)):
        simulate_outcomes(loop.settings, START)
