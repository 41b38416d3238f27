"""The run report: one self-contained HTML page per run_date for the people running xrec.

Plots are matplotlib PNGs embedded as base64 data URIs and the CSS is inline, so the file
opens anywhere without network access. Every section renders even when its tables do not
exist yet (the first day, a run that stopped at a gate): it then says what is missing.
"""

from __future__ import annotations

import base64
import html
import io
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from xrec.catalog import DATA_QUALITY_RESULTS, ML_MARTS, PARTNER_TO_PLATFORM, PLATFORM_TO_PARTNER
from xrec.catalog import MODEL_RUNS as MODEL_RUNS_TABLE
from xrec.catalog import QUARANTINE as QUARANTINE_TABLE
from xrec.config import Settings
from xrec.publish.atomic import replacing
from xrec.publish.catalog import CROSS_RECOMMENDATIONS, exists
from xrec.quality.late import late_sources
from xrec.quality.orphans import MEANING as ORPHANS_MEANING
from xrec.quality.orphans import orphan_totals
from xrec.warehouse import connect

# Headless before anything plots (pandas' .plot imports pyplot): the report never needs a display.
matplotlib.use("Agg")

log = logging.getLogger(__name__)

MODEL_RUNS = MODEL_RUNS_TABLE.relation
QUALITY = DATA_QUALITY_RESULTS.relation
QUARANTINE = QUARANTINE_TABLE.relation
ITEMS = ML_MARTS["items"].relation
SEGMENTS = "marts.bi_segment_profiles"
FEEDBACK_MART = "marts.bi_feedback_daily"  # recommended_date, partner, variant, impressions, clicks, conversions
AB_UPLIFT = "marts.bi_ab_uplift"  # model vs control per partner and metric
OUTCOMES = "staging.stg_partners__outcomes"  # used until the feedback mart exists
HISTORY_DAYS = 30

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;color:#1f2933;
padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin:0 0 .4rem}
.status{padding:.6rem 1rem;border-radius:6px;margin:1rem 0}
.ok{background:#e3f9e5;border:1px solid #31a24c}.warn{background:#fff4e5;border:1px solid #d9822b}
figure{margin:1.5rem 0;padding:1rem;border:1px solid #d9dee3;border-radius:6px;background:#fff}
figure img{max-width:100%;height:auto;display:block}
figcaption{color:#52606d;font-size:.9rem;margin-top:.4rem}
.note{color:#8a4b08;background:#fff8ec;padding:.6rem;border-radius:4px}
table{border-collapse:collapse;font-size:.85rem;margin-top:.6rem}
th,td{border:1px solid #d9dee3;padding:.25rem .5rem;text-align:left}th{background:#f5f7fa}
"""


@dataclass(frozen=True)
class Plot:
    """One report section: a PNG, or a note saying why there is nothing to plot yet."""

    id: str
    title: str
    caption: str = ""
    png: bytes | None = None
    note: str | None = None
    table: pd.DataFrame | None = None


def report_path(settings: Settings, run_date: date) -> Path:
    return settings.artifacts / "reports" / f"{run_date.isoformat()}.html"


def build_report(settings: Settings, run_date: date) -> Path:
    """Render the run report for run_date and return its path (written atomically)."""
    # Before the very first ingest there is no warehouse file: report on an empty database.
    with connect(settings, read_only=True) if settings.warehouse.exists() else duckdb.connect() as con:
        status = _status(con, run_date)
        late = late_sources(con, run_date)
        if late:
            status = (
                status[0],
                status[1]
                + " Built without the late drop(s) of "
                + ", ".join(source for source, _ in late)
                + ": their last good data was "
                "used and the next run loads the drop once it lands.",
            )
        plots = [
            _metrics_plot(con, run_date),
            _recommendations_plot(con, run_date),
            _quality_plot(con, run_date),
            _segments_plot(con),
            _outcomes_plot(con, run_date),
        ]
    path = report_path(settings, run_date)
    with replacing(path) as tmp:
        tmp.write_text(_page(run_date, status, plots), encoding="utf-8")
    log.info(
        "report %s: %d plots, %d notes -> %s",
        run_date,
        sum(p.png is not None for p in plots),
        sum(p.png is None for p in plots),
        path,
    )
    return path


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def _status(con: duckdb.DuckDBPyConnection, run_date: date) -> tuple[bool, str]:
    """(published?, one sentence on what this run did)."""
    if not exists(con, MODEL_RUNS):
        return False, "No model has been trained yet: nothing was published."
    runs = _frame(
        con,
        f"select * from {MODEL_RUNS} where run_date = ? order by model_version",
        [run_date],
    )
    if runs.empty:
        return False, f"No model run for {run_date}: nothing was published."
    published = runs[runs["is_published"].fillna(False).astype(bool)]
    if not published.empty:
        return True, "; ".join(
            f"Published the {r} ranking {v}, because: {why}."
            for v, r, why in zip(
                published["model_version"],
                published.get("ranker", pd.Series("lightfm", published.index)).fillna("lightfm"),
                published["decision_reason"],
            )
        )
    reasons = "; ".join(f"{v}: {r}" for v, r in zip(runs["model_version"], runs["decision_reason"].fillna("")))
    return False, f"Not published ({reasons}). BI keeps serving the previous run."


def _metrics_plot(con: duckdb.DuckDBPyConnection, run_date: date) -> Plot:
    plot: dict[str, Any] = dict(id="fig-metrics", title="Offline metric vs baseline")
    if not exists(con, MODEL_RUNS):
        return Plot(**plot, note="No model runs yet (model_runs does not exist).")
    runs = _frame(
        con,
        f"select run_date, model_version, primary_metric, primary_value, baseline_value, is_published "
        f"from {MODEL_RUNS} where run_date between ? - {HISTORY_DAYS} and ? order by run_date, trained_at",
        [run_date, run_date],
    )
    if runs.empty:
        return Plot(**plot, note=f"No model runs in the {HISTORY_DAYS} days up to {run_date}.")
    metric = runs["primary_metric"].dropna().iloc[-1] if runs["primary_metric"].notna().any() else "primary metric"
    fig = Figure(figsize=(9, 3.6))
    ax = fig.subplots()
    ax.plot(runs["run_date"], runs["primary_value"], marker="o", label="model", color="#2563eb")
    ax.plot(runs["run_date"], runs["baseline_value"], marker="s", ls="--", label="popularity baseline", color="#9ca3af")
    rejected = runs[~runs["is_published"].fillna(False).astype(bool)]
    ax.scatter(
        rejected["run_date"],
        rejected["primary_value"],
        marker="x",
        s=80,
        color="#dc2626",
        zorder=3,
        label="not published",
    )
    # Pad by a day so a single run does not stretch the date axis over years.
    dates = pd.to_datetime(runs["run_date"])
    ax.set_xlim(dates.min() - pd.Timedelta(days=1), dates.max() + pd.Timedelta(days=1))
    ax.set_ylabel(metric)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    caption = (
        f"{metric} per run over the last {HISTORY_DAYS} days; "
        "a red cross marks a run the promotion gate did not publish."
    )
    return Plot(**plot, caption=caption, png=_png(fig))


def _recommendations_plot(con: duckdb.DuckDBPyConnection, run_date: date) -> Plot:
    plot: dict[str, Any] = dict(id="fig-recommendations", title="Recommendations and catalogue coverage")
    if not exists(con, CROSS_RECOMMENDATIONS.relation):
        return Plot(**plot, note="Nothing has been published yet.")
    catalogue = (
        f"(select count(*) from {ITEMS} i where i.is_active and i.source = "
        f"case when r.direction = '{PLATFORM_TO_PARTNER}' then r.partner else 'platform' end)"
        if exists(con, ITEMS)
        else "null"
    )
    counts = _frame(
        con,
        f"""
        select partner, direction, count(*) as recommendations, count(distinct recipient_id) as recipients,
               count(distinct item_id) as items, {catalogue} as catalogue
        from {CROSS_RECOMMENDATIONS.relation} r where run_date = ? group by partner, direction order by 1, 2
        """,
        [run_date],
    )
    if counts.empty:
        return Plot(**plot, note=f"No recommendations were published for {run_date}.")
    # An empty (or unknown) catalogue has no coverage to show, rather than an infinite one.
    active = counts["catalogue"].astype("float64")
    counts["coverage_pct"] = 100 * counts["items"] / active.where(active > 0)
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    wide = counts.pivot(index="partner", columns="direction", values="recommendations").fillna(0)
    wide.plot.bar(ax=left, rot=0, legend=False, color=["#2563eb", "#f59e0b"][: wide.shape[1]])
    left.set_title("recommendations", fontsize=10)
    coverage = counts.pivot(index="partner", columns="direction", values="coverage_pct")
    coverage.plot.bar(ax=right, rot=0, legend=False, color=["#2563eb", "#f59e0b"][: coverage.shape[1]])
    right.set_title("catalogue coverage (% of active items recommended)", fontsize=10)
    right.set_ylim(0, 100)
    for ax in (left, right):
        ax.grid(axis="y", alpha=0.3)
        ax.set_xlabel("")
    _legend_below(fig, left)
    return Plot(
        **plot,
        caption=f"Published rows for {run_date} per partner: {PLATFORM_TO_PARTNER} = platform users receive "
        f"partner items, {PARTNER_TO_PLATFORM} = partner customers receive platform courses.",
        png=_png(fig),
        table=counts,
    )


def _quality_plot(con: duckdb.DuckDBPyConnection, run_date: date) -> Plot:
    plot: dict[str, Any] = dict(id="fig-quality", title="Data quality and quarantine")
    suites = (
        _frame(
            con,
            f"select layer || ':' || source as suite, sum(evaluated_expectations - failed_expectations "
            f"- coalesce(warned_expectations, 0)) as passed, sum(coalesce(warned_expectations, 0)) as warned, "
            f"sum(failed_expectations) as failed from {QUALITY} where run_date = ? group by 1 order by 1",
            [run_date],
        )
        if exists(con, QUALITY)
        else pd.DataFrame()
    )
    quarantine = (
        _frame(
            con,
            f"select source, rule, count(*) as rows from {QUARANTINE} where delivery_date = ? "
            f"group by all order by 1, 2",
            [run_date],
        )
        if exists(con, QUARANTINE)
        else pd.DataFrame()
    )
    if suites.empty and quarantine.empty:
        return Plot(**plot, note=f"No data-quality results or quarantined rows for {run_date} yet.")
    fig = Figure(figsize=(10, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    if suites.empty:
        left.text(0.5, 0.5, "no suite results", ha="center", va="center")
    else:
        suites.set_index("suite")[["passed", "warned", "failed"]].plot.barh(
            ax=left, stacked=True, legend=False, color=["#31a24c", "#f59e0b", "#dc2626"]
        )
        left.set_title("expectations per suite", fontsize=10)
        left.set_ylabel("")
        _legend_below(fig, left)
    if quarantine.empty:
        right.text(0.5, 0.5, "no quarantined rows", ha="center", va="center")
        right.set_axis_off()
    else:
        quarantine.pivot(index="source", columns="rule", values="rows").fillna(0).plot.bar(
            ax=right, stacked=True, rot=0
        )
        right.set_title("quarantined rows per source and rule", fontsize=10)
        right.legend(fontsize=7, title="rule", title_fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
        right.set_xlabel("")
    return Plot(
        **plot,
        caption=f"Suites run for {run_date} and rows ingest set aside from that day's drops." + _orphans_sentence(con),
        png=_png(fig),
    )


def _orphans_sentence(con: duckdb.DuckDBPyConnection) -> str:
    """Orphan references per source, '' when there are none."""
    per_source = orphan_totals(con)
    if not per_source:
        return ""
    return (
        f" Orphan references ({ORPHANS_MEANING}): " + ", ".join(f"{source} {rows}" for source, rows in per_source) + "."
    )


def _segments_plot(con: duckdb.DuckDBPyConnection) -> Plot:
    plot: dict[str, Any] = dict(id="fig-segments", title="Segments")
    if not exists(con, SEGMENTS):
        return Plot(**plot, note="Segment profiles are not built yet (bi_segment_profiles).")
    segments = _frame(con, f"select * from {SEGMENTS} order by segment_id")
    if segments.empty:
        return Plot(**plot, note="bi_segment_profiles is empty.")
    fig = Figure(figsize=(9, 0.5 + 0.45 * len(segments)))
    ax = fig.subplots()
    ax.barh([f"segment {s}" for s in segments["segment_id"]], segments["persons"], color="#7c3aed")
    ax.invert_yaxis()
    ax.set_xlabel("persons")
    ax.grid(axis="x", alpha=0.3)
    shown = [c for c in ("segment_id", "segment_name", "persons", "platform_users") if c in segments.columns]
    return Plot(**plot, caption="Persons per segment as of this run.", png=_png(fig), table=segments[shown])


def _outcomes_plot(con: duckdb.DuckDBPyConnection, run_date: date) -> Plot:
    plot: dict[str, Any] = dict(id="fig-outcomes", title="Click-through and conversion: model vs control")
    if exists(con, FEEDBACK_MART):
        # outcomes matching no delivered recommendation (variant 'unmatched') have nothing to compare
        source = (
            f"select recommended_date, partner, variant, sum(impressions) as impressions, sum(clicks) as clicks, "
            f"sum(conversions) as conversions from {FEEDBACK_MART} where variant in ('model', 'control') group by all"
        )
    elif exists(con, OUTCOMES):
        source = (
            f"select recommended_date, partner, 'all' as variant, "
            f"count(*) filter (where event_type = 'impression') as impressions, "
            f"count(*) filter (where event_type = 'click') as clicks, "
            f"count(*) filter (where event_type = 'conversion') as conversions from {OUTCOMES} group by all"
        )
    else:
        return Plot(**plot, note="No outcomes yet: no partner has sent feedback on recommendations.")
    daily = _frame(
        con,
        f"select * from ({source}) where recommended_date between ? - {HISTORY_DAYS} and ? and impressions > 0 "
        f"order by recommended_date, partner, variant",
        [run_date, run_date],
    )
    if daily.empty:
        return Plot(**plot, note=f"No outcomes yet for recommendations up to {run_date}.")
    daily["ctr"] = daily["clicks"] / daily["impressions"]
    daily["conversion"] = daily["conversions"] / daily["impressions"]
    colours = {partner: f"C{i}" for i, partner in enumerate(sorted(daily["partner"].unique()))}
    fig = Figure(figsize=(10, 3.6))
    axes = fig.subplots(1, 2, sharex=True)
    for ax, measure in zip(axes, ("ctr", "conversion")):
        for (partner, variant), rows in daily.groupby(["partner", "variant"]):
            control = variant == "control"
            ax.plot(
                rows["recommended_date"],
                rows[measure],
                color=colours[partner],
                ls="--" if control else "-",
                marker="s" if control else "o",
                mfc="none" if control else colours[partner],
                label=f"{partner} ({variant})",
            )
        ax.set_title(f"{measure} (per impression)", fontsize=10)
        ax.grid(alpha=0.3)
    # Pad by a day so a single delivery date does not stretch the date axis over years.
    dates = pd.to_datetime(daily["recommended_date"])
    axes[0].set_xlim(dates.min() - pd.Timedelta(days=1), dates.max() + pd.Timedelta(days=1))
    axes[0].legend(fontsize=7, ncol=2)
    fig.autofmt_xdate()
    return Plot(
        **plot,
        caption="Partner outcomes by the date the recommendation was delivered; solid dots = model, hollow "
        "squares = popularity control. Table: CTR pooled over all delivery dates (bi_ab_uplift), in %, with the 95% "
        "interval of the uplift; significant when that interval excludes 0.",
        png=_png(fig),
        table=_uplift_table(con),
    )


def _uplift_table(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """The CTR A/B read-out in percent, or None before the uplift mart exists."""
    if not exists(con, AB_UPLIFT):
        return None
    table = _frame(
        con,
        f"select partner, model_impressions, control_impressions, 100 * model_rate as model_ctr_pct, "
        f"100 * control_rate as control_ctr_pct, 100 * uplift_abs as uplift_pp, 100 * uplift_ci_low as ci_low_pp, "
        f"100 * uplift_ci_high as ci_high_pp, is_significant from {AB_UPLIFT} where metric = 'ctr' "
        f"order by partner = 'all', partner",
    )
    return None if table.empty else table


def _legend_below(fig: Figure, ax) -> None:
    """One legend under the whole figure, so it never hides a bar."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=8, frameon=False)


def _section(plot: Plot) -> str:
    body = (
        f'<img alt="{html.escape(plot.title)}" src="data:image/png;base64,{base64.b64encode(plot.png).decode()}">'
        if plot.png is not None
        else f'<p class="note">{html.escape(plot.note or "")}</p>'
    )
    table = plot.table.to_html(index=False, border=0, float_format="{:.1f}".format) if plot.table is not None else ""
    caption = f"<figcaption>{html.escape(plot.caption)}</figcaption>" if plot.caption else ""
    return f'<figure id="{plot.id}"><h2>{html.escape(plot.title)}</h2>{body}{caption}{table}</figure>'


def _page(run_date: date, status: tuple[bool, str], plots: list[Plot]) -> str:
    published, sentence = status
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>xrec run report {run_date}</title><style>{_CSS}</style></head><body>"
        f"<h1>xrec run report — {run_date}</h1>"
        f'<div class="status {"ok" if published else "warn"}">{html.escape(sentence)}</div>'
        + "".join(_section(p) for p in plots)
        + "</body></html>\n"
    )
