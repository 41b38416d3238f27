"""From timed runs to figures: medians over repeats, throughput, reference ratios, targets."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from xrec.config import PLATFORM
from xrec_tools.bench.job import JOB_STAGES, MODEL_STAGES


@dataclass(frozen=True)
class Budget:
    job_seconds: float
    tuning_seconds: float | None  # a daily job that also runs the model selection (weekly)
    peak_rss_mb: float


# The budget is set for size M; other sizes are checked against the same limits for information,
# except L, which has its own (issue 17: it completes, its daily job in 30 min and 16 GB).
TARGET_SIZE = "M"
BUDGETS = {"L": Budget(job_seconds=1800.0, tuning_seconds=None, peak_rss_mb=16 * 1024.0)}
DEFAULT_BUDGET = Budget(job_seconds=600.0, tuning_seconds=900.0, peak_rss_mb=6 * 1024.0)
SCORE_VS_BARE_MIN = 0.5
SCALING_SLACK = 1.2
# The serving API (xrec_tools.bench.serving): p99 latency at an offered rate, per kind of request.
SERVING_TARGETS = (("score", 50.0, 100.0), ("lookup", 10.0, 500.0))  # (phase, p99 ms max, rps min)


def median_of(runs: list[Any]) -> Any:
    """Element-wise median of repeated results with the same shape: numbers (not bools) become
    their median, dicts are combined key by key (the first run's keys), anything else is taken
    from the first run."""
    first = runs[0]
    if isinstance(first, dict):
        return {key: median_of([run[key] for run in runs if key in run]) for key in first}
    if (
        isinstance(first, (int, float))
        and not isinstance(first, bool)
        and all(isinstance(run, (int, float)) for run in runs)
    ):
        return statistics.median(runs)
    return first


def scoring_cells(counts: dict, partners: list[str]) -> int:
    """Recipient x candidate-item pairs the scorer ranks: platform users x each partner's items,
    and each partner's customers x platform courses."""
    recipients, items = counts["recipients_by_source"], counts["items_by_source"]
    return sum(
        recipients.get(PLATFORM, 0) * items.get(p, 0) + recipients.get(p, 0) * items.get(PLATFORM, 0) for p in partners
    )


def _rate(units: float, seconds: float) -> float | None:
    return units / seconds if seconds > 0 else None


def _ratio(ours: float | None, reference: float | None) -> float | None:
    return ours / reference if ours is not None and reference else None


def derive(run: dict, epochs: int, partners: list[str]) -> dict:
    """Totals, throughput and reference ratios of one run (its stages, counts and references)."""
    stages, counts, reference = run["stages"], run["counts"], run["reference"]  # {} when not measured
    present = [s for s in JOB_STAGES if s in stages]  # score..publish are absent when not promoted
    fit = stages["train_evaluate"]["parts"].get("fit")
    # Without the fit span, the whole stage over the mart's rows: slower-looking, never faster.
    fit_units = fit["units"] if fit else counts["ml_interactions"] * epochs  # span: rows x epochs run
    fit_seconds = fit["seconds"] if fit else stages["train_evaluate"]["seconds"]
    cells = scoring_cells(counts, partners)
    rates = {
        "ingest_rows_per_s": _rate(counts["raw_rows_read"], stages["ingest"]["seconds"]),
        "train_interactions_per_s": _rate(fit_units, fit_seconds),
        "score_cells_per_s": _rate(cells, stages["score"]["seconds"]) if "score" in stages else None,
    }
    job = sum(stages[s]["seconds"] for s in present)
    model = sum(stages[s]["seconds"] for s in MODEL_STAGES if s in stages)
    return {
        "job_seconds": job,
        "end_to_end_seconds": job + stages["generate"]["seconds"],
        "model_seconds": model,
        "orchestration_sql_seconds": job - model,
        "peak_rss_mb": max(stages[s]["peak_rss_mb"] for s in present),
        "skipped_stages": [s for s in JOB_STAGES if s not in stages],
        "score_cells": cells,
        "fit_interactions_x_epochs": fit_units,
        **rates,
        "ratios": {
            "train_vs_bare_fit": _ratio(rates["train_interactions_per_s"], reference.get("fit_interactions_per_s")),
            "score_vs_bare_matmul": _ratio(rates["score_cells_per_s"], reference.get("bare_cells_per_s")),
            "score_vs_lightfm_predict": _ratio(rates["score_cells_per_s"], reference.get("predict_cells_per_s")),
            "ranker_vs_bare_matmul": reference.get("ours_vs_bare"),
        },
    }


def _check(size: str, target: str, value: float | None, limit: float, ok: bool | None) -> dict:
    status = "n/a" if ok is None else ("PASS" if ok else "MISS")
    return {"size": size, "target": target, "value": value, "limit": limit, "status": status}


def serving_checks(size: str, serving: dict | None) -> list[dict]:
    """PASS/MISS of the serving stage's figures (xrec_tools.bench.serving) against SERVING_TARGETS."""
    checks = []
    for phase, p99_max, rps_min in SERVING_TARGETS:
        load = (serving or {}).get(phase) or {}
        p99, rps = load.get("p99_ms"), load.get("achieved_rps")
        ok = None if p99 is None else (p99 <= p99_max and rps >= 0.98 * rps_min and not load["failed"])
        checks.append(
            _check(size, f"{phase} p99 ms <= {p99_max:g} at >= {rps_min:g} rps, no failure", p99, p99_max, ok)
        )
    return checks


def check_targets(medians: dict[str, dict]) -> list[dict]:
    """PASS/MISS per target and measured size (median figures); the scaling target needs S and M."""
    checks = []
    for size, figures in medians.items():
        d, budget = figures["derived"], BUDGETS.get(size, DEFAULT_BUDGET)
        score_ratio = d["ratios"]["score_vs_bare_matmul"]
        tuning = figures.get("tuning", {}).get("job_seconds")
        checks += [
            _check(
                size,
                f"full job seconds <= {budget.job_seconds:g}",
                d["job_seconds"],
                budget.job_seconds,
                d["job_seconds"] <= budget.job_seconds,
            ),
        ]
        if budget.tuning_seconds is not None:
            checks.append(
                _check(
                    size,
                    f"tuning run seconds <= {budget.tuning_seconds:g}",
                    tuning,
                    budget.tuning_seconds,
                    None if tuning is None else tuning <= budget.tuning_seconds,
                )
            )
        checks += [
            _check(
                size,
                "orchestration+SQL seconds <= model seconds",
                d["orchestration_sql_seconds"],
                d["model_seconds"],
                d["orchestration_sql_seconds"] <= d["model_seconds"],
            ),
            _check(
                size,
                "scoring rate / bare matmul rate >= 0.5",
                score_ratio,
                SCORE_VS_BARE_MIN,
                None if score_ratio is None else score_ratio >= SCORE_VS_BARE_MIN,
            ),
            _check(
                size,
                f"peak RSS MB <= {budget.peak_rss_mb:g}",
                d["peak_rss_mb"],
                budget.peak_rss_mb,
                d["peak_rss_mb"] <= budget.peak_rss_mb,
            ),
        ]
    for size, figures in medians.items():
        checks += serving_checks(size, figures.get("serving"))
    if "S" in medians and TARGET_SIZE in medians:
        small, big = medians["S"], medians[TARGET_SIZE]
        time_ratio = big["derived"]["job_seconds"] / small["derived"]["job_seconds"]
        data_ratio = big["counts"]["raw_rows_read"] / small["counts"]["raw_rows_read"]
        checks.append(
            _check(
                f"{TARGET_SIZE}/S",
                "time ratio <= 1.2 x data ratio",
                time_ratio,
                SCALING_SLACK * data_ratio,
                time_ratio <= SCALING_SLACK * data_ratio,
            )
        )
    else:
        checks.append(_check(f"{TARGET_SIZE}/S", "time ratio <= 1.2 x data ratio", None, SCALING_SLACK, None))
    return checks


# History growth (issue 17): the daily job after the long history costs at most this much times
# the daily job after the short one, model training excluded (its cost follows the model
# selection and the interactions it fits, reported beside).
HISTORY_GROWTH_MAX = 1.3
TRAINING_STAGE = "train_evaluate"


def history_growth(size: str, short: dict, long: dict) -> dict:
    """Per-stage seconds of the two histories' daily runs and their ratio, the ratio of the job
    without training (stages both ran; one skipped after a failed promotion is listed) and its
    PASS/MISS against HISTORY_GROWTH_MAX."""
    days = (short["spec"]["days"], long["spec"]["days"])
    both = [s for s in JOB_STAGES if s in short["stages"] and s in long["stages"]]
    stages = {}
    for stage in both:
        a, b = short["stages"][stage]["seconds"], long["stages"][stage]["seconds"]
        stages[stage] = {"short": a, "long": b, "ratio": _ratio(b, a)}
    measured = [s for s in both if s != TRAINING_STAGE]
    without = {key: sum(stages[s][key] for s in measured) for key in ("short", "long")}
    ratio = _ratio(without["long"], without["short"])
    check = _check(
        size,
        f"daily job without {TRAINING_STAGE}, day {days[1]} / day {days[0]} <= {HISTORY_GROWTH_MAX:g}",
        ratio,
        HISTORY_GROWTH_MAX,
        None if ratio is None else ratio <= HISTORY_GROWTH_MAX,
    )
    return {
        "days": list(days),
        "stages": stages,
        "skipped_stages": [s for s in JOB_STAGES if s not in both],
        "job_without_training": {**without, "ratio": ratio},
        "training": stages.get(TRAINING_STAGE),
        "check": check,
    }


def backfill_cost(size: str, backfilled: list[dict], dailies: list[dict]) -> dict:
    """A backfill's seconds (per day and per stage) against as many daily runs (the mean of
    `dailies`), the tuning days inside it, and whether each day that ran both ways left the same
    fingerprint (xrec_tools.bench.backfill)."""
    days = len(backfilled)
    total = sum(day["seconds"] for day in backfilled)
    daily = statistics.mean(day["seconds"] for day in dailies)
    budget = days * daily
    by_date = {day["run_date"]: day for day in backfilled}
    compared = [
        {"run_date": run["run_date"], "equal": run["fingerprint"] == by_date[run["run_date"]]["fingerprint"]}
        for run in dailies
    ]
    stages = [s for s in JOB_STAGES if any(s in day["stages"] for day in backfilled)]
    tuned = [day for day in backfilled if day["tuned"]]
    same = sum(c["equal"] for c in compared)
    return {
        "days": days,
        "backfill_seconds": total,
        "daily_run_seconds": daily,
        "ratio": _ratio(total, budget),
        "tuning_days": [day["run_date"] for day in tuned],
        "tuning_days_seconds": sum(day["seconds"] for day in tuned),
        "stages": {
            s: {
                "backfill": sum(day["stages"][s]["seconds"] for day in backfilled if s in day["stages"]),
                "daily_mean": statistics.mean(run["stages"].get(s, {}).get("seconds", 0.0) for run in dailies),
            }
            for s in stages
        },
        "compared": compared,
        "checks": [
            _check(size, f"backfill of {days} days seconds <= {days} x one daily run", total, budget, total <= budget),
            _check(
                size, "days run both ways equal (backfill == daily run)", same, len(compared), same == len(compared)
            ),
        ],
    }
