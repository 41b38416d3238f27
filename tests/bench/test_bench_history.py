"""History growth: the daily job after a short and a long history, training reported apart."""

import json

import pytest

from xrec_tools.bench.job import JOB_STAGES
from xrec_tools.bench.render import render_history_markdown
from xrec_tools.bench.sizes import SIZES, parse_history_days, with_history
from xrec_tools.bench.summary import history_growth


def _history(days: int, seconds: dict[str, float]) -> dict:
    size = with_history(SIZES["S"], days)
    stages = {s: {"seconds": seconds.get(s, 1.0), "peak_rss_mb": 100.0, "parts": {}} for s in JOB_STAGES}
    counts = {"raw_rows_read_run_date": 25_000, "raw_rows_read": 25_000 * days}
    counts |= {"ml_persons": 100, "ml_items": 50, "ml_interactions": 1_000 * days}
    spec = {"users": size.users, "days": days, "seed": size.seed, "settings": size.settings}
    return {
        "spec": {**spec, "run_date": str(size.run_date)},
        "stages": stages,
        "counts": counts,
        "tuning": {"job_seconds": 99.0},
    }


def test_the_ratio_leaves_training_out_and_passes_up_to_1_3():
    short = _history(7, {"dbt": 10.0, "train_evaluate": 5.0})
    # dbt 10 -> 12 s and training 5 -> 50 s: without training (8 stages of 1 s + dbt) 18 -> 20 s
    long = _history(60, {"dbt": 12.0, "train_evaluate": 50.0})
    growth = history_growth("S", short, long)
    assert growth["days"] == [7, 60]
    assert growth["stages"]["dbt"] == {"short": 10.0, "long": 12.0, "ratio": pytest.approx(1.2)}
    assert growth["job_without_training"] == {"short": 18.0, "long": 20.0, "ratio": pytest.approx(20 / 18)}
    assert growth["training"]["ratio"] == pytest.approx(10.0)
    assert growth["check"]["status"] == "PASS" and "day 60 / day 7 <= 1.3" in growth["check"]["target"]

    exactly = history_growth("S", _history(7, {"dbt": 10.0}), _history(60, {"dbt": 10.0 + 0.3 * 18}))
    assert exactly["job_without_training"]["ratio"] == pytest.approx(1.3) and exactly["check"]["status"] == "PASS"
    worse = history_growth("S", short, _history(60, {"dbt": 20.0}))
    assert worse["check"]["status"] == "MISS"  # 28 / 18


def test_stages_one_history_skipped_are_left_out_of_both_sides(machine):
    short, long = _history(7, {}), _history(60, {})
    for stage in ("score", "gate_outputs", "publish"):
        del long["stages"][stage]  # the long history's model was not promoted
    growth = history_growth("S", short, long)
    assert growth["skipped_stages"] == ["score", "gate_outputs", "publish"]
    assert growth["job_without_training"]["short"] == growth["job_without_training"]["long"] == 6.0
    text = render_history_markdown(
        {
            "machine": machine,
            "size": "S",
            "created_at": "2026-12-01T05:00:00+00:00",
            "settings_overrides": {},
            "histories": {"7": short, "60": long},
            "growth": growth,
        }
    )
    assert "| **job without train_evaluate** | 6.00 | 6.00 | 1.00 |" in text
    assert "| dbt | 1.00 | 1.00 | 1.00 |" in text and "| score |" not in text
    assert "Not compared (a history's model was not promoted): score, gate_outputs, publish." in text
    assert "| raw_rows_read_run_date | 25,000 | 25,000 |" in text and "PASS" in text


def test_histories_keep_the_size_users_seed_and_share_settings():
    short, long = with_history(SIZES["S"], 7), with_history(SIZES["S"], 60)
    assert (short.name, long.name) == ("S-7d", "S-60d")
    assert short.users == long.users == SIZES["S"].users and short.seed == long.seed == SIZES["S"].seed
    assert short.settings == long.settings and str(long.run_date) == "2026-12-30"
    assert parse_history_days("7,60") == (7, 60)
    for bad in ("7", "60,7", "2,5", "a,b"):
        with pytest.raises(ValueError, match="history days"):
            parse_history_days(bad)


@pytest.mark.e2e
def test_history_growth_runs_the_real_job_at_size_t(tmp_path):
    from xrec_tools.bench.history import run_history_growth

    path = run_history_growth("T", tmp_path, days=(3, 4))

    doc = json.loads(path.read_text())
    assert path.name.startswith("history-T-") and not (tmp_path / "scratch").exists()
    assert list(doc["histories"]) == ["3", "4"]
    for history in doc["histories"].values():
        assert history["counts"]["raw_rows_read_run_date"] > 0
        assert history["tuning"]["job_seconds"] > 0 and history["stages"]["dbt"]["seconds"] > 0
    growth = doc["growth"]
    assert growth["job_without_training"]["ratio"] > 0 and growth["check"]["status"] in ("PASS", "MISS")
    assert "## Target" in (tmp_path / "history-latest.md").read_text()
