"""Quarantine listing per source and delivery date, so a partner can be told which rows failed.

Writes ``<data_docs>/quarantine/<source>/<date>.html`` and ``.csv`` (rule, file, line,
record key, column, bad value). A rerun with no quarantined rows removes a stale listing.
"""

from __future__ import annotations

import html
import logging
from datetime import date
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

_COLUMNS = ["entity", "rule", "source_file", "source_line", "record_key", "column_name", "bad_value"]


def write_listing(docs_dir: Path, source: str, run_date: date, rows: pd.DataFrame) -> Path | None:
    """Write (or remove) the listing for one source's delivery; returns the HTML path if written."""
    folder = docs_dir / "quarantine" / source
    html_path = folder / f"{run_date.isoformat()}.html"
    csv_path = html_path.with_suffix(".csv")
    if rows.empty:
        html_path.unlink(missing_ok=True)
        csv_path.unlink(missing_ok=True)
        return None
    folder.mkdir(parents=True, exist_ok=True)
    listing = rows[_COLUMNS]
    listing.to_csv(csv_path, index=False)
    by_rule = listing.groupby(["entity", "rule"]).size().rename("rows").reset_index()
    title = f"Quarantined rows: {source}, delivery {run_date.isoformat()}"
    html_path.write_text(
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>{len(listing)} row(s) were rejected at ingest and not loaded. "
        f"Same data as CSV: <a href='{csv_path.name}'>{csv_path.name}</a>.</p>"
        f"<h2>By rule</h2>{by_rule.to_html(index=False)}"
        f"<h2>Rows</h2>{listing.to_html(index=False, na_rep='')}"
        "</body></html>",
        encoding="utf-8",
    )
    log.info("quarantine listing: %d row(s) for %s %s -> %s", len(listing), source, run_date, html_path)
    return html_path
