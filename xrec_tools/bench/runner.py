"""`run_benchmark`: per size, generate the sample, run the daily job, measure, write the results."""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from xrec.config import ISOLATED_PATHS, PROJECT_ROOT, Settings
from xrec.privacy.keys import new_keys, write_keys_file
from xrec_tools.bench.job import data_counts, model_quality, run_daily_job
from xrec_tools.bench.machine import machine_info
from xrec_tools.bench.monitor import Journal, RssSampler, StageClock
from xrec_tools.bench.reference import reference_figures
from xrec_tools.bench.render import render_markdown
from xrec_tools.bench.serving import serving_figures
from xrec_tools.bench.sizes import SIZES, BenchSize
from xrec_tools.bench.summary import check_targets, derive, median_of, serving_checks
from xrec_tools.sample import generate

log = logging.getLogger(__name__)

DEFAULT_OUT_DIR = PROJECT_ROOT / "bench" / "results"


class BenchmarkFailed(RuntimeError):
    """A benchmark run stopped: names the size, the stage and where its scratch data was kept."""


# Variables the benchmark always sets itself (scratch paths; no serving DSN).
SCRATCH_VARIABLES = (*ISOLATED_PATHS, "XREC_SERVING_DSN")


def effective_overrides(overrides: dict) -> dict[str, str]:
    """The overrides that change something: neither a scratch variable nor equal to the embedded
    default (so a caller may pass its whole `settings.env()` without undoing a size's presets)."""
    defaults = Settings.from_env({}).env()
    return {str(k): str(v) for k, v in overrides.items() if k not in SCRATCH_VARIABLES and defaults.get(k) != str(v)}


def scratch_settings(scratch: Path, overrides: dict[str, str]) -> Settings:
    """Settings whose every path is under `scratch`. No serving DSN: benchmark rows must never
    reach the Postgres schema BI reads."""
    settings = Settings.isolated(scratch, {k: v for k, v in overrides.items() if k not in SCRATCH_VARIABLES})
    if not settings.export_keys_file.exists():  # throwaway pseudonym keys: the exports are scratch too
        write_keys_file(settings.export_keys_file, new_keys(settings.partners))
    return settings


def _tuning_run(
    settings: Settings, size: BenchSize, scratch: Path, sampler: RssSampler, journal: Journal | None
) -> dict:
    """The daily job of the day before the last: nothing stored yet, so it runs the model
    selection (what a weekly tuning day costs); the last day then reuses its choice."""
    tuning_date = size.run_date - timedelta(days=1)
    clock = StageClock(sampler, label=f"{size.name} tuning", journal=journal)
    try:
        run_daily_job(settings, tuning_date, clock)
    except Exception as error:
        raise failure(size, clock, error, scratch, tuning_date) from error
    stages = {name: asdict(stage) for name, stage in clock.stages.items()}
    quality = model_quality(settings, tuning_date)
    return {
        "run_date": tuning_date.isoformat(),
        "stages": stages,
        "job_seconds": sum(stage["seconds"] for stage in stages.values()),
        "select_seconds": stages["train_evaluate"]["parts"].get("select", {}).get("seconds"),
        "tuned_on": quality["tuned_on"],
        "decision_reason": quality["decision_reason"],
    }


def timed_daily_run(
    size: BenchSize, scratch: Path, sampler: RssSampler, overrides: dict[str, str], clock: StageClock
) -> tuple[Settings, dict, bool]:
    """Generate `size` from scratch, run the daily job for the day before its last date (a tuning
    run: the catch-up of every earlier drop plus the model selection) and time the daily run of
    its last date (reusing the stored choice) on `clock`; returns the settings, the tuning run's
    figures and whether the last day's model was promoted."""
    shutil.rmtree(scratch, ignore_errors=True)
    settings = scratch_settings(scratch, {**size.settings, **overrides})
    with clock.stage("generate"):
        generate(settings.landing, size.start, size.days, size.users, size.seed)
    tuning = _tuning_run(settings, size, scratch, sampler, clock.journal)
    return settings, tuning, run_daily_job(settings, size.run_date, clock)


def failure(
    size: BenchSize, clock: StageClock, error: Exception, scratch: Path, run_date: date | None = None
) -> BenchmarkFailed:
    """Names the size, the run date (default: the size's last), the stage that failed and where
    the stages that finished were journaled."""
    journal = clock.journal.path if clock.journal else None
    journaled = f"\nfinished stages in {journal}" if journal and journal.exists() else ""
    return BenchmarkFailed(
        f"benchmark size {size.name} ({size.users} users, {size.days} days, run_date "
        f"{run_date or size.run_date}) failed in stage {clock.current or 'measurement'}: "
        f"{type(error).__name__}: {error}\nscratch data kept in {scratch}{journaled}"
    )


def _run_once(size: BenchSize, scratch: Path, sampler: RssSampler, overrides: dict[str, str], journal: Journal) -> dict:
    """The tuning run and the timed daily run of `size` (`timed_daily_run`), row counts and
    quality, plus (unless the size turns them off) the references and the serving API on the
    published model."""
    clock = StageClock(sampler, label=size.name, journal=journal)
    try:
        settings, tuning, promoted = timed_daily_run(size, scratch, sampler, overrides, clock)
        reference = {}
        if size.extras:
            with clock.stage("reference"):
                reference = reference_figures(settings, size.run_date)
        # The API on what the job published (nothing to serve when the model was not promoted).
        serving = None
        if promoted and size.extras:
            with clock.stage("serve"):
                serving = serving_figures(settings, size.serve_seconds, scratch)
        run = {
            "promoted": promoted,
            "serving": serving,
            "tuning": tuning,
            "stages": {name: asdict(stage) for name, stage in clock.stages.items()},
            "counts": data_counts(settings, size.run_date),
            "quality": model_quality(settings, size.run_date),
            "reference": reference,
        }
    except BenchmarkFailed:  # the tuning run's: it names its own stage and date
        raise
    except Exception as error:
        raise failure(size, clock, error, scratch) from error
    run["derived"] = derive(run, settings.epochs, list(settings.partners))
    return run


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def remove_empty_scratch_root(out_dir: Path) -> None:
    """`out_dir/scratch` goes once every size's scratch has (a failed one keeps it)."""
    scratch_root = out_dir / "scratch"
    if scratch_root.exists() and not any(scratch_root.iterdir()):
        scratch_root.rmdir()


def run_benchmark(
    sizes: list[str],
    out_dir: Path,
    repeats: int = 1,
    settings_overrides: dict | None = None,
    keep_scratch: bool = False,
) -> Path:
    """Benchmark the daily job at each size (T, S, M, L) `repeats` times; returns the JSON path.

    Writes `bench-<UTC timestamp>.json`, `latest.json` and `latest.md` to `out_dir`; until then
    each finished stage is journaled in `bench-<UTC timestamp>.partial.jsonl` (left behind when
    the benchmark fails or is killed, removed when it succeeds). Each run's
    data lives in `out_dir/scratch/<size>/`, removed once the size has finished (kept on failure,
    or with `keep_scratch`, so that `xrec bench-serving` can measure the API on it again).
    `settings_overrides` are XREC_* variables (e.g. XREC_EPOCHS); paths are always the scratch's,
    and values equal to the embedded defaults are ignored (see `effective_overrides`).
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    unknown = [name for name in sizes if name not in SIZES]
    if unknown:
        raise ValueError(f"unknown benchmark size(s) {unknown}; choose from {', '.join(SIZES)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    overrides = effective_overrides(settings_overrides or {})
    created = datetime.now(UTC)
    machine = machine_info()
    journal = Journal(out_dir / f"bench-{created:%Y%m%dT%H%M%SZ}.partial.jsonl")
    results = {}
    with RssSampler() as sampler:
        for name in sizes:
            size, scratch = SIZES[name], out_dir / "scratch" / name
            runs = []
            for repeat in range(1, repeats + 1):
                log.info("bench %s: run %d/%d (%d users, %d days)", name, repeat, repeats, size.users, size.days)
                runs.append(_run_once(size, scratch, sampler, overrides, journal))
            if not keep_scratch:
                shutil.rmtree(scratch, ignore_errors=True)
            spec = {**asdict(size), "start": size.start.isoformat(), "run_date": size.run_date.isoformat()}
            results[name] = {"spec": spec, "runs": runs, "median": median_of(runs)}
    machine["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    doc = {
        "created_at": created.isoformat(timespec="seconds"),
        "machine": machine,
        "repeats": repeats,
        "settings_overrides": overrides,
        "partners": list(Settings.from_env(overrides).partners),
        "sizes": results,
        "targets": check_targets({name: r["median"] for name, r in results.items()}),
    }
    text = json.dumps(doc, indent=2, default=str)
    path = out_dir / f"bench-{created:%Y%m%dT%H%M%SZ}.json"
    write_atomic(path, text)
    write_atomic(out_dir / "latest.json", text)
    write_atomic(out_dir / "latest.md", render_markdown(doc))
    remove_empty_scratch_root(out_dir)
    journal.path.unlink(missing_ok=True)
    log.info("benchmark written to %s", path)
    return path


def rerun_serving(size_name: str, out_dir: Path) -> Path:
    """Only the serving stage, on the published model a `--keep-scratch` run left in
    `out_dir/scratch/<size>/` (e.g. again once the machine is quieter); writes
    `serving-<size>-<UTC timestamp>.json` beside the benchmark's results and returns its path."""
    size = SIZES[size_name]
    scratch = Path(out_dir) / "scratch" / size_name
    settings = scratch_settings(scratch, size.settings)
    created = datetime.now(UTC)
    machine = machine_info()
    figures = serving_figures(settings, size.serve_seconds, scratch)
    machine["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    doc = {
        "created_at": created.isoformat(timespec="seconds"),
        "machine": machine,
        "size": size_name,
        "serving": figures,
        "targets": serving_checks(size_name, figures),
    }
    path = Path(out_dir) / f"serving-{size_name}-{created:%Y%m%dT%H%M%SZ}.json"
    write_atomic(path, json.dumps(doc, indent=2, default=str))
    return path
