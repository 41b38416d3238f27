"""Medians over repeats, derived throughput/ratios, targets and the Markdown report."""

import pytest

from xrec_tools.bench.job import JOB_STAGES, STAGES
from xrec_tools.bench.render import render_markdown
from xrec_tools.bench.sizes import SIZES, parse_sizes
from xrec_tools.bench.summary import check_targets, derive, median_of, scoring_cells

PARTNERS = ["realty", "finance"]


def _run(scale: float) -> dict:
    """A synthetic run: every stage takes `scale` seconds, train and score twice that."""
    stages = {s: {"seconds": scale, "peak_rss_mb": 100.0 * scale, "parts": {}} for s in (*STAGES, "reference")}
    stages["train_evaluate"] = {
        "seconds": 2 * scale,
        "peak_rss_mb": 300.0,
        "parts": {"fit": {"calls": 2, "seconds": scale, "units": 5000}},
    }
    stages["score"]["seconds"] = 2 * scale
    counts = {
        "raw_rows_read": 10_000,
        "raw_rows_quarantined": 5,
        "ml_persons": 50,
        "ml_recipients": 60,
        "ml_items": 30,
        "ml_interactions": 900,
        "recommendation_candidates": 400,
        "cross_recommendations": 400,
        "raw_files": 3,
        "raw_rows_loaded": 9_995,
        "recipients_by_source": {"platform": 40, "realty": 10, "finance": 10},
        "items_by_source": {"platform": 10, "realty": 12, "finance": 8},
    }
    reference = {
        "fit_interactions_per_s": 10_000.0,
        "bare_cells_per_s": 1_000.0,
        "predict_cells_per_s": 500.0,
        "ours_cells_per_s": 800.0,
        "ours_vs_bare": 0.8,
    }
    quality = {
        "model_version": "v1",
        "primary_metric": "precision_at_k",
        "primary_value": 0.3,
        "baseline_value": 0.1,
        "previous_value": None,
        "is_published": True,
        "decision_reason": "beats baseline",
        "metrics": {"warm": {"precision_at_k": 0.3, "users": 40}, "realty": {"auc": 0.9}},
        "baseline_metrics": {"warm": {"precision_at_k": 0.1, "users": 40}, "realty": {"auc": 0.5}},
        "params": {"epochs": 5},
    }
    run = {"stages": stages, "counts": counts, "reference": reference, "quality": quality}
    run["derived"] = derive(run, epochs=5, partners=PARTNERS)
    return run


def _doc(machine: dict, name: str, run: dict) -> dict:
    """A benchmark document of one size measured once (`run`), as the runner writes it."""
    size = {"spec": {"users": 500, "days": 5, "run_date": "2026-11-05"}, "runs": [run], "median": run}
    return {
        "partners": PARTNERS,
        "created_at": "2026-11-23T14:00:00+00:00",
        "repeats": 1,
        "settings_overrides": {},
        "machine": machine,
        "sizes": {name: size},
        "targets": check_targets({name: run}),
    }


def test_median_takes_the_middle_of_each_number_and_keeps_the_rest():
    runs = [
        {"a": 3.0, "b": {"c": 10, "flag": True}, "name": "x"},
        {"a": 1.0, "b": {"c": 30, "flag": False}, "name": "y"},
        {"a": 2.0, "b": {"c": 20, "flag": False}, "name": "z"},
    ]
    assert median_of(runs) == {"a": 2.0, "b": {"c": 20, "flag": True}, "name": "x"}
    assert median_of([{"s": 1.0}, {"s": 4.0}]) == {"s": 2.5}
    assert median_of([{"v": None}, {"v": 1.0}]) == {"v": None}


def test_median_of_repeated_runs_is_per_stage():
    runs = [_run(1.0), _run(5.0), _run(2.0)]
    median = median_of(runs)
    assert median["stages"]["dbt"]["seconds"] == 2.0
    assert median["stages"]["train_evaluate"]["parts"]["fit"]["seconds"] == 2.0
    assert median["derived"]["job_seconds"] == pytest.approx(runs[2]["derived"]["job_seconds"])


def test_derived_throughput_and_ratios():
    d = _run(1.0)["derived"]
    assert d["job_seconds"] == pytest.approx(len(JOB_STAGES) + 2)  # train and score take 2 s
    assert d["model_seconds"] == pytest.approx(4.0)
    assert d["ingest_rows_per_s"] == pytest.approx(10_000)
    assert d["train_interactions_per_s"] == pytest.approx(5_000)  # 1000 rows x 5 epochs (the probe's units) / 1 s
    # platform 40 x (12 + 8) partner items + (10 + 10) customers x 10 courses
    assert scoring_cells(_run(1.0)["counts"], PARTNERS) == 1000
    assert d["score_cells_per_s"] == pytest.approx(500)
    assert d["ratios"]["score_vs_bare_matmul"] == pytest.approx(0.5)
    assert d["ratios"]["train_vs_bare_fit"] == pytest.approx(0.5)


def test_a_model_not_promoted_skips_scoring_like_the_dag():
    run = _run(1.0)
    for stage in ("score", "gate_outputs", "publish"):
        del run["stages"][stage]
    d = derive(run, epochs=5, partners=PARTNERS)
    assert d["skipped_stages"] == ["score", "gate_outputs", "publish"]
    assert d["score_cells_per_s"] is None and d["ratios"]["score_vs_bare_matmul"] is None
    assert d["job_seconds"] == pytest.approx(len(JOB_STAGES) - 3 + 1)
    run["derived"] = d
    checks = {c["target"]: c["status"] for c in check_targets({"T": run})}
    assert checks["scoring rate / bare matmul rate >= 0.5"] == "n/a"


def test_targets_pass_miss_and_scaling_between_s_and_m():
    fast, slow = _run(1.0), _run(100.0)
    checks = check_targets({"S": fast, "M": slow})
    status = {(c["size"], c["target"]): c["status"] for c in checks}
    assert status[("S", "full job seconds <= 600")] == "PASS"
    assert status[("M", "full job seconds <= 600")] == "MISS"
    assert status[("M", "scoring rate / bare matmul rate >= 0.5")] == "MISS"
    # 100x the time on the same rows: far beyond 1.2x the data ratio
    assert status[("M/S", "time ratio <= 1.2 x data ratio")] == "MISS"
    only_s = check_targets({"S": fast})
    assert only_s[-1]["status"] == "n/a"


def test_markdown_lists_every_stage_target_and_metric(machine):
    text = render_markdown(_doc(machine, "T", _run(1.0)))
    for stage in (*STAGES, "reference"):
        assert f"| {stage} |" in text
    assert "AMD EPYC" in text and "| warm.precision_at_k | 0.3000 / 0.1000 |" in text
    assert "realty.auc" not in text and "warm.users" not in text  # per-partner and counts: JSON only
    assert "PASS" in text and "n/a" in text


def test_sizes_parse_and_know_their_run_date():
    assert parse_sizes("s, M") == ["S", "M"]
    assert SIZES["M"].users == 200_000
    assert str(SIZES["T"].run_date) == "2026-11-07"
    with pytest.raises(ValueError, match="X"):
        parse_sizes("S,X")


def test_scratch_settings_keep_every_path_in_scratch_and_never_serve(tmp_path):
    from xrec_tools.bench.runner import scratch_settings

    settings = scratch_settings(
        tmp_path,
        {
            "XREC_WAREHOUSE": "/work/main/data/warehouse.duckdb",
            "XREC_SERVING_DSN": "postgresql://bi",
            "XREC_EPOCHS": "3",
        },
    )
    for path in (settings.landing, settings.warehouse, settings.exports, settings.artifacts, settings.airflow_home):
        assert path.is_relative_to(tmp_path)
    assert settings.serving_dsn is None and settings.epochs == 3


def test_overrides_keep_only_real_changes_so_size_presets_survive():
    from xrec.config import Settings
    from xrec_tools.bench.runner import effective_overrides

    everything = {**Settings.from_env({}).env(), "XREC_EPOCHS": "5"}
    assert effective_overrides(everything) == {"XREC_EPOCHS": "5"}


def _job_only_run(scale: float) -> dict:
    """`_run(scale)` as L measures it: no reference stage, no reference figures."""
    run = _run(scale)
    del run["stages"]["reference"]
    run["reference"] = {}
    run["derived"] = derive(run, epochs=5, partners=PARTNERS)
    return run


def test_l_has_its_own_budget_and_reports_no_references(machine):
    """L is held to issue 17's limits (30 min, 16 GB, no tuning target) and measures the job only:
    without references its ratios are n/a and the report says the stage was not measured."""
    assert not SIZES["L"].extras and SIZES["M"].extras
    run = _job_only_run(1000.0)  # job of 13,000 s, peak 100 GB: over L's budget
    status = {c["target"]: c["status"] for c in check_targets({"L": run}) if c["size"] == "L"}
    assert status["full job seconds <= 1800"] == "MISS"
    assert status["peak RSS MB <= 16384"] == "MISS"
    assert status["scoring rate / bare matmul rate >= 0.5"] == "n/a"
    assert not any(target.startswith("tuning run") for target in status)
    small = _job_only_run(1.0)
    status = {c["target"]: c["status"] for c in check_targets({"L": small}) if c["size"] == "L"}
    assert status["full job seconds <= 1800"] == "PASS" and status["peak RSS MB <= 16384"] == "PASS"
    text = render_markdown(_doc(machine, "L", small))
    assert "| reference | not measured at this size |" in text
    assert "| L | full job seconds <= 1800 |" in text
