"""The benchmark documents as Markdown reports (bench/results/latest.md and the others), and the backfill's plot."""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure

from xrec_tools.bench.job import STAGES
from xrec_tools.bench.summary import TRAINING_STAGE


def _num(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def _headline(metrics: dict, partners: list[str], prefix: str = "") -> dict[str, float]:
    """Nested metrics flattened to 'a.b' keys, keeping rates (floats) not broken down by partner;
    the per-partner figures and counts stay in the JSON."""
    out = {}
    for key, value in (metrics or {}).items():
        if key in partners:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_headline(value, partners, f"{name}."))
        elif isinstance(value, float):
            out[name] = value
    return out


def _machine_line(m: dict) -> str:
    return (
        f"Machine: {m['cpu_model']}, {m['logical_cores']} logical cores, {m['ram_gb']} GB RAM, "
        f"Python {m['python']}, {m['platform']}. Load average (1/5/15 min) at start "
        f"{m['load_average_start']}, at end {m['load_average_end']}."
    )


def render_markdown(doc: dict) -> str:
    """Date, machine, sizes, per-stage time/RSS, throughput, reference ratios, quality, targets."""
    m, sizes = doc["machine"], doc["sizes"]
    names = list(sizes)
    lines = [
        f"# xrec benchmark — {doc['created_at']}",
        "",
        _machine_line(m),
        f"Repeats: {doc['repeats']} (figures are medians). Settings overrides: "
        f"{doc['settings_overrides'] or 'none'}. Each step of the daily job runs the "
        "xrec.daily function the DAG's task calls, in a fresh process of its own as an Airflow task "
        "does (stage times include starting it); a stage's peak RSS is its largest task's; Postgres "
        "serving is skipped (no DSN); the reference figures run in the harness process.",
        "",
        "## Sizes",
        "",
    ]
    count_keys = [
        "raw_rows_read",
        "raw_rows_quarantined",
        "ml_persons",
        "ml_recipients",
        "ml_items",
        "ml_interactions",
        "recommendation_candidates",
        "cross_recommendations",
    ]
    rows = [
        ["users", *(_num(sizes[n]["spec"]["users"]) for n in names)],
        ["days", *(_num(sizes[n]["spec"]["days"]) for n in names)],
        ["run_date", *(sizes[n]["spec"]["run_date"] for n in names)],
    ]
    rows += [[key, *(_num(sizes[n]["median"]["counts"][key], 0) for n in names)] for key in count_keys]
    lines += _table(["", *names], rows) + ["", "## Stages (seconds / peak RSS MB)", ""]

    rows = []
    for stage in (*STAGES, "reference"):
        cells = []
        for n in names:
            s = sizes[n]["median"]["stages"].get(stage)
            if s is None:
                cells.append("not measured at this size" if stage == "reference" else "skipped (model not promoted)")
                continue
            parts = ", ".join(f"{p} {_num(v['seconds'])}" for p, v in s["parts"].items())
            cells.append(f"{_num(s['seconds'])} s / {_num(s['peak_rss_mb'], 0)} MB" + (f" ({parts})" if parts else ""))
        rows.append([stage, *cells])
    for key, label in (
        ("job_seconds", "daily job (ingest..report)"),
        ("end_to_end_seconds", "end to end (generate..report)"),
        ("orchestration_sql_seconds", "non-model stages"),
        ("model_seconds", "model stages (train+evaluate, score)"),
        ("peak_rss_mb", "peak RSS MB (daily job)"),
    ):
        rows.append([f"**{label}**", *(_num(sizes[n]["median"]["derived"][key]) for n in names)])
    tuning = {n: sizes[n]["median"].get("tuning") or {} for n in names}
    rows.append(
        [
            "**tuning run (the day before; ingest..report)**",
            *(
                f"{_num(tuning[n].get('job_seconds'))} (select {_num(tuning[n].get('select_seconds'))}, "
                f"train_evaluate {_num(tuning[n].get('stages', {}).get('train_evaluate', {}).get('seconds'))})"
                for n in names
            ),
        ]
    )
    rows.append(["daily run's choice", *(f"tuned on {sizes[n]['median']['quality'].get('tuned_on')}" for n in names)])
    lines += _table(["stage", *names], rows) + ["", "## Throughput and references", ""]

    rows = [
        [label, *(_num(sizes[n]["median"]["derived"][key], 0) for n in names)]
        for key, label in (
            ("ingest_rows_per_s", "ingest rows/s (load_audit rows_read)"),
            ("train_interactions_per_s", "train interactions x epochs / fit s"),
            ("score_cells_per_s", "score stage recipients x items / s"),
        )
    ]
    rows += [
        [label, *(_num(sizes[n]["median"]["reference"].get(key), 0) for n in names)]
        for key, label in (
            ("fit_interactions_per_s", "bare LightFM.fit interactions x epochs / s"),
            ("bare_cells_per_s", "bare matmul+argpartition cells/s"),
            ("predict_cells_per_s", "LightFM.predict cells/s"),
            ("ours_cells_per_s", "ml ranker alone cells/s"),
        )
    ]
    ratio_keys = list(sizes[names[0]]["median"]["derived"]["ratios"])
    rows += [
        [f"ratio {key}", *(_num(sizes[n]["median"]["derived"]["ratios"][key], 3) for n in names)] for key in ratio_keys
    ]
    lines += _table(["figure", *names], rows) + [
        "",
        "## Model quality (model / popularity baseline; per-partner figures in the JSON)",
        "",
    ]

    quality = {n: sizes[n]["median"]["quality"] for n in names}
    partners = doc["partners"]
    rows = [
        ["decision", *(f"published={quality[n]['is_published']}: {quality[n]['decision_reason']}" for n in names)],
        [
            "primary metric",
            *(
                f"{quality[n]['primary_metric']}: {_num(quality[n]['primary_value'], 4)} / "
                f"{_num(quality[n]['baseline_value'], 4)}"
                for n in names
            ),
        ],
    ]
    headline = {
        n: (_headline(quality[n]["metrics"], partners), _headline(quality[n]["baseline_metrics"], partners))
        for n in names
    }
    keys = dict.fromkeys(key for n in names for key in headline[n][0])
    rows += [
        [key, *(f"{_num(headline[n][0].get(key), 4)} / {_num(headline[n][1].get(key), 4)}" for n in names)]
        for key in keys
    ]
    lines += _table(["model / baseline", *names], rows)
    lines += ["", "## Serving API (xrec serve, one uvicorn worker; open-loop load from the harness)", ""]
    serving = {n: sizes[n]["median"].get("serving") or {} for n in names}
    rows = []
    for phase, label in (("lookup", "published-list lookups"), ("score", "on-demand scoring")):
        rows.append(
            [
                label,
                *(
                    f"{_num(serving[n][phase]['achieved_rps'], 0)} of {_num(serving[n][phase]['offered_rps'], 0)} rps, "
                    f"p50/p95/p99 {_num(serving[n][phase]['p50_ms'], 1)} / {_num(serving[n][phase]['p95_ms'], 1)} / "
                    f"{_num(serving[n][phase]['p99_ms'], 1)} ms, {serving[n][phase]['failed']} failed, "
                    f"generator late p99 {_num(serving[n][phase].get('late_p99_ms'), 1)} ms, server CPU "
                    f"{_num(serving[n][phase].get('server_cpu_ms_per_request'), 2)} ms/request"
                    if phase in serving[n]
                    else "–"
                    for n in names
                ),
            ]
        )
    rows.append(["model load (start to ready)", *(_num(serving[n].get("ready_seconds"), 1) + " s" for n in names)])
    rows.append(
        [
            "server RSS ready / peak",
            *(
                f"{_num(serving[n].get('rss_ready_mb'), 0)} / {_num(serving[n].get('rss_peak_mb'), 0)} MB"
                for n in names
            ),
        ]
    )
    rows.append(["load average after", *(str(serving[n].get("load_average", "–")) for n in names)])
    lines += _table(["", *names], rows)
    lines += ["", "## Targets (set for size M; L has its own)", ""]
    rows = [[t["size"], t["target"], _num(t["value"]), _num(t["limit"]), t["status"]] for t in doc["targets"]]
    return "\n".join(lines + _table(["size", "target", "value", "limit", "status"], rows)) + "\n"


def render_history_markdown(doc: dict) -> str:
    """The history growth document (xrec_tools.bench.history): the last day's volume and the
    per-stage seconds after the short and the long history, their ratios, the target."""
    growth, histories = doc["growth"], doc["histories"]
    short, long = (histories[str(d)] for d in growth["days"])
    names = [f"{h['spec']['days']} days (run {h['spec']['run_date']})" for h in (short, long)]
    lines = [
        f"# xrec history growth — size {doc['size']}, {doc['created_at']}",
        "",
        _machine_line(doc["machine"]),
        f"Settings overrides: {doc['settings_overrides'] or 'none'}; both histories: "
        f"{short['spec']['users']:,} users, seed {short['spec']['seed']}, settings {short['spec']['settings']}. "
        "Each history runs the job for the day before its last (catch-up and model selection, "
        "not compared); the daily run of the last day is timed.",
        "",
    ]
    rows = [
        [key, *(_num(h["counts"][key], 0) for h in (short, long))]
        for key in ("raw_rows_read_run_date", "raw_rows_read", "ml_persons", "ml_items", "ml_interactions")
    ]
    lines += _table(["rows", *names], rows) + ["", "## Daily run of the last day (seconds)", ""]
    rows = [
        [stage, _num(f["short"]), _num(f["long"]), _num(f["ratio"])]
        for stage, f in growth["stages"].items()
        if stage != TRAINING_STAGE
    ]
    job = growth["job_without_training"]
    rows.append([f"**job without {TRAINING_STAGE}**", _num(job["short"]), _num(job["long"]), _num(job["ratio"])])
    training = growth["training"] or {}
    rows.append(
        [
            f"{TRAINING_STAGE} (reported separately)",
            _num(training.get("short")),
            _num(training.get("long")),
            _num(training.get("ratio")),
        ]
    )
    rows.append(
        [
            "tuning run of the day before (catch-up + selection)",
            *(_num(h["tuning"]["job_seconds"]) for h in (short, long)),
            "",
        ]
    )
    lines += _table(["stage", *names, "ratio"], rows)
    if growth["skipped_stages"]:
        lines += ["", f"Not compared (a history's model was not promoted): {', '.join(growth['skipped_stages'])}."]
    lines += ["", "## Target", ""] + _targets([growth["check"]])
    return "\n".join(lines) + "\n"


def _targets(checks: list[dict]) -> list[str]:
    return _table(
        ["size", "target", "value", "limit", "status"],
        [[t["size"], t["target"], _num(t["value"]), _num(t["limit"]), t["status"]] for t in checks],
    )


def render_backfill_markdown(doc: dict, plot_name: str) -> str:
    """The backfill document (xrec_tools.bench.backfill): the runs around it, every backfilled
    day, its stages against as many daily runs, the days compared and the targets."""
    cost, spec = doc["cost"], doc["spec"]
    first, last = doc["daily_runs"]
    lines = [
        f"# xrec backfill — size {doc['size']}, {cost['days']} days, {doc['created_at']}",
        "",
        _machine_line(doc["machine"]),
        f"Settings overrides: {doc['settings_overrides'] or 'none'}; {spec['users']:,} users, seed {spec['seed']}, "
        f"{spec['days']} days generated from {spec['start']}. The job ran for {doc['setup']['run_date']} (catch-up "
        f"and model selection: the state before the backfill), then the daily run of {first['run_date']}, the "
        f"backfill of {first['run_date']}..{last['run_date']} in date order, and the daily run of "
        f"{last['run_date']} again. Each run is the bench's daily job (every step in a fresh process).",
        "",
        f"![seconds per backfilled day]({plot_name})",
        "",
    ]
    rows = [
        ["set-up run (catch-up + selection, not compared)", _num(doc["setup"]["seconds"])],
        [f"daily run of {first['run_date']}", _num(first["seconds"])],
        [f"daily run of {last['run_date']} (after the backfill)", _num(last["seconds"])],
        [f"**backfill of {cost['days']} days**", _num(cost["backfill_seconds"])],
        [f"{cost['days']} x one daily run (their mean)", _num(cost["days"] * cost["daily_run_seconds"])],
        ["ratio", _num(cost["ratio"])],
        [f"tuning days inside the backfill ({len(cost['tuning_days'])})", _num(cost["tuning_days_seconds"])],
    ]
    lines += _table(["run", "seconds"], rows) + ["", "## Stages (seconds)", ""]
    rows = [
        [stage, _num(f["backfill"]), _num(cost["days"] * f["daily_mean"]), _num(f["daily_mean"])]
        for stage, f in cost["stages"].items()
    ]
    lines += _table(["stage", "backfill", f"{cost['days']} x daily run", "daily run (mean)"], rows)
    equal = {c["run_date"]: "yes" if c["equal"] else "**NO**" for c in cost["compared"]}
    lines += ["", "## Days", ""]
    rows = [
        [
            day["run_date"],
            _num(day["seconds"]),
            "yes" if day["tuned"] else "",
            "yes" if day["promoted"] else "no",
            _num(day["fingerprint"]["published_rows"]),
            equal.get(day["run_date"], "–"),
        ]
        for day in doc["backfill"]
    ]
    lines += _table(["day", "seconds", "tuned", "promoted", "published rows", "equals its daily run"], rows)
    lines += ["", "## Targets", ""] + _targets(cost["checks"])
    return "\n".join(lines) + "\n"


def plot_backfill(doc: dict, path: Path) -> None:
    """Seconds per backfilled day, stacked by stage (tuning days labelled), against the daily
    run's mean."""
    fig = Figure(figsize=(10, 4.2))
    ax = fig.add_subplot()
    days = doc["backfill"]
    labels = [day["run_date"][5:] + (" tuned" if day["tuned"] else "") for day in days]
    bottom = [0.0] * len(days)
    for stage in doc["cost"]["stages"]:
        heights = [day["stages"].get(stage, {}).get("seconds", 0.0) for day in days]
        ax.bar(labels, heights, bottom=bottom, label=stage)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    daily = doc["cost"]["daily_run_seconds"]
    ax.axhline(daily, color="black", linestyle="--", linewidth=1, label=f"one daily run (mean) {daily:.0f} s")
    ax.set_ylabel("seconds")
    ax.set_title(
        f"Backfill of {len(days)} days, size {doc['size']}: {doc['cost']['backfill_seconds']:.0f} s "
        f"against {len(days)} x {daily:.0f} s"
    )
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    os.replace(tmp, path)
