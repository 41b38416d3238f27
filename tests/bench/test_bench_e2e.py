"""The harness end to end at size T: the real daily job, timed, with references and quality."""

import json

import pytest

from xrec_tools.bench import BenchmarkFailed, run_benchmark
from xrec_tools.bench.job import STAGES


@pytest.mark.e2e
def test_benchmark_at_size_t_times_every_stage(tmp_path):
    path = run_benchmark(["T"], tmp_path, repeats=1)

    doc = json.loads(path.read_text())
    assert path.name.startswith("bench-") and json.loads((tmp_path / "latest.json").read_text()) == doc
    assert not (tmp_path / "scratch").exists()  # a finished size leaves no scratch data behind
    assert not list(tmp_path.glob("*.partial.jsonl"))  # nor a journal of its stages
    size = doc["sizes"]["T"]
    run = size["median"]
    assert run["promoted"], f"model not promoted at size T: {run['quality']['decision_reason']}"
    for stage in (*STAGES, "reference"):
        assert run["stages"][stage]["seconds"] > 0, stage
        assert run["stages"][stage]["peak_rss_mb"] > 0, stage
    assert set(run["stages"]["train_evaluate"]["parts"]) >= {"fit", "evaluate", "build_dataset"}
    assert "export" in run["stages"]["publish"]["parts"]
    assert run["counts"]["raw_rows_read"] > 0 and run["counts"]["cross_recommendations"] > 0
    derived = run["derived"]
    for rate in ("ingest_rows_per_s", "train_interactions_per_s", "score_cells_per_s"):
        assert derived[rate] > 0, rate
    # no LightFM.predict reference when popularity is the published ranker (no model to predict)
    expected = {
        k for k in derived["ratios"] if k != "score_vs_lightfm_predict" or run["quality"]["ranker"] == "lightfm"
    }
    assert all(derived["ratios"][k] > 0 for k in expected), derived["ratios"]
    assert run["quality"]["primary_value"] is not None and run["quality"]["baseline_value"] is not None
    assert doc["machine"]["logical_cores"] >= 1 and len(doc["machine"]["load_average_end"]) == 3

    text = (tmp_path / "latest.md").read_text()
    assert "| dbt |" in text and "## Targets" in text and "PASS" in text


def test_a_failed_benchmark_leaves_the_stages_that_finished(tmp_path):
    # A 1 MB cache is a real failure: DuckDB runs out of memory at the tuning run's first ingest.
    with pytest.raises(BenchmarkFailed, match=r"run_date 2026-11-06\) failed in stage ingest") as caught:
        run_benchmark(["T"], tmp_path, settings_overrides={"XREC_DUCKDB_MEMORY_LIMIT": "1MB"})

    [journal] = tmp_path.glob("bench-*.partial.jsonl")
    assert f"finished stages in {journal}" in str(caught.value)
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [(line["run"], line["stage"]) for line in lines] == [("T", "generate")]
    assert lines[0]["seconds"] > 0 and lines[0]["peak_rss_mb"] > 0
    assert not list(tmp_path.glob("*.json"))  # no results document claims a finished run
