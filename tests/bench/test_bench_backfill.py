"""The backfill measure: N backfilled days against N daily runs, and the days run both ways."""

import json

import pytest

from xrec_tools.bench.job import JOB_STAGES
from xrec_tools.bench.render import plot_backfill, render_backfill_markdown
from xrec_tools.bench.sizes import SIZES, with_backfill
from xrec_tools.bench.summary import backfill_cost


def _day(run_date: str, seconds: float, tuned: bool = False, rows: int = 40, digest: str = "7") -> dict:
    # every stage 1 s but train_evaluate, which takes the rest
    stages = {s: {"seconds": 1.0, "peak_rss_mb": 100.0, "parts": {}} for s in JOB_STAGES}
    stages["train_evaluate"]["seconds"] = seconds - (len(JOB_STAGES) - 1)
    fingerprint = {"published_rows": rows, "published_hash": digest, "model_run": {"ranker": "lightfm"}}
    return {"run_date": run_date, "seconds": seconds, "tuned": tuned, "promoted": True, "stages": stages,
            "fingerprint": fingerprint}  # fmt: skip


def _days(*seconds: float) -> list[dict]:
    return [_day(f"2026-11-{15 + i}", s, tuned=(i == 1)) for i, s in enumerate(seconds)]


def test_the_backfill_is_held_to_as_many_daily_runs_and_its_tuning_days_are_named():
    backfilled = _days(20.0, 50.0, 20.0)  # the second day tunes
    cost = backfill_cost("S", backfilled, [_day("2026-11-15", 30.0), _day("2026-11-17", 30.0)])
    assert cost["backfill_seconds"] == 90.0 and cost["daily_run_seconds"] == 30.0
    assert cost["ratio"] == pytest.approx(1.0)
    assert cost["tuning_days"] == ["2026-11-16"] and cost["tuning_days_seconds"] == 50.0
    assert cost["stages"]["dbt"] == {"backfill": 3.0, "daily_mean": 1.0}
    assert cost["stages"]["train_evaluate"]["backfill"] == pytest.approx(90.0 - 3 * (len(JOB_STAGES) - 1))
    assert [c["status"] for c in cost["checks"]] == ["PASS", "PASS"]
    assert "backfill of 3 days seconds <= 3 x one daily run" in cost["checks"][0]["target"]

    slower = backfill_cost("S", _days(20.0, 52.0, 20.0), [_day("2026-11-15", 30.0), _day("2026-11-17", 30.0)])
    assert slower["checks"][0]["status"] == "MISS"  # 92 > 90


def test_a_day_that_differs_from_its_daily_run_fails_the_comparison(tmp_path, machine):
    backfilled = _days(20.0, 50.0, 20.0)
    dailies = [_day("2026-11-15", 30.0), _day("2026-11-17", 30.0, digest="8")]  # the last differs
    cost = backfill_cost("S", backfilled, dailies)
    assert cost["compared"] == [
        {"run_date": "2026-11-15", "equal": True},
        {"run_date": "2026-11-17", "equal": False},
    ]
    assert cost["checks"][1]["status"] == "MISS" and (cost["checks"][1]["value"], cost["checks"][1]["limit"]) == (1, 2)

    doc = {
        "created_at": "2026-12-07T08:00:00+00:00",
        "machine": machine,
        "size": "S",
        "spec": {"users": 10_000, "seed": 7, "days": 44, "start": "2026-11-01"},
        "settings_overrides": {},
        "setup": _day("2026-11-14", 99.0),
        "daily_runs": dailies,
        "backfill": backfilled,
        "cost": cost,
    }
    text = render_backfill_markdown(doc, "backfill-latest.png")
    assert "![seconds per backfilled day](backfill-latest.png)" in text
    assert "| **backfill of 3 days** | 90.00 |" in text and "| 3 x one daily run (their mean) | 90.00 |" in text
    assert "| 2026-11-16 | 50.00 | yes | yes | 40 | – |" in text  # a tuning day, not compared
    assert "| 2026-11-17 | 20.00 |  | yes | 40 | **NO** |" in text
    assert "| dbt | 3.00 | 3.00 | 1.00 |" in text and "| MISS |" in text

    plot_backfill(doc, tmp_path / "backfill.png")
    assert (tmp_path / "backfill.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_backfill_size_keeps_users_seed_and_settings_and_adds_the_days():
    size = with_backfill(SIZES["S"], 30)
    assert (size.name, size.days, size.users, size.seed) == ("S-backfill", 44, 10_000, 7)
    assert str(size.run_date) == "2026-12-14" and size.settings == SIZES["S"].settings
    with pytest.raises(ValueError, match="at least 2 days"):
        with_backfill(SIZES["S"], 1)


@pytest.mark.e2e
def test_a_real_backfill_at_size_t_equals_the_daily_runs_on_both_days(tmp_path):
    from xrec_tools.bench.backfill import run_backfill

    path = run_backfill("T", tmp_path, days=2)

    doc = json.loads(path.read_text())
    assert path.name.startswith("backfill-T-") and not (tmp_path / "scratch").exists()
    assert [day["run_date"] for day in doc["backfill"]] == ["2026-11-08", "2026-11-09"]
    assert doc["setup"]["run_date"] == "2026-11-07" and doc["setup"]["tuned"]
    for run in (*doc["daily_runs"], *doc["backfill"]):
        assert run["promoted"] and run["fingerprint"]["published_rows"] > 0 and run["seconds"] > 0
        assert run["fingerprint"]["model_run"]["is_published"] == "True"
    # the first day re-ran over its daily run, the last day's daily run re-ran over the backfill
    assert doc["cost"]["compared"] == [
        {"run_date": "2026-11-08", "equal": True},
        {"run_date": "2026-11-09", "equal": True},
    ]
    assert doc["cost"]["checks"][1]["status"] == "PASS"
    assert (tmp_path / "backfill-latest.png").stat().st_size > 0
    assert "## Targets" in (tmp_path / "backfill-latest.md").read_text()
