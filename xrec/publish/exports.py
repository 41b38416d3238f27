"""Partner audience files: what each partner receives for one published run.

``<exports>/<partner>/<run_date>/`` holds
- ``courses_for_customers.csv|.parquet``: the partner's own customers (its ``customer_id``) and
  the platform courses recommended to them;
- ``platform_audience.csv|.parquet``: platform users recommended the partner's items, keyed only
  by contact hashes (never a platform user_id, raw contact data or another partner's ids), so
  the partner can match them against its own customers;
- ``manifest.json``: files, row counts, SHA-256, model version; written last, so a partner that
  sees the manifest sees complete files.
"""
from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import duckdb

from xrec.config import Settings
from xrec.publish.atomic import replacing, sha256_file
from xrec.publish.catalog import CROSS_RECOMMENDATIONS, PARTNER_TO_PLATFORM, PLATFORM_TO_PARTNER, exists

log = logging.getLogger(__name__)

EXPORT_SCHEMA_VERSION = "1"
RECIPIENTS = "marts.ml_recipients"

_COURSES_FOR_CUSTOMERS = f"""
select recipient_id as customer_id, item_id as course_id, rank, score, variant, model_version, reason
from {CROSS_RECOMMENDATIONS.relation}
where run_date = $run_date and partner = $partner and direction = '{PARTNER_TO_PLATFORM}'
order by customer_id, rank, course_id
"""

_PLATFORM_AUDIENCE = f"""
select r.email_sha256, r.phone_sha256, c.item_id, c.rank, c.score, c.variant
from {CROSS_RECOMMENDATIONS.relation} as c
join {RECIPIENTS} as r on r.recipient_source = 'platform' and r.recipient_id = c.recipient_id
where c.run_date = $run_date and c.partner = $partner and c.direction = '{PLATFORM_TO_PARTNER}'
  and (r.email_sha256 is not null or r.phone_sha256 is not null)
order by r.email_sha256, r.phone_sha256, c.rank, c.item_id
"""


def export_dir(settings: Settings, partner: str, run_date: date) -> Path:
    return settings.exports / partner / run_date.isoformat()


def write_partner_exports(
    con: duckdb.DuckDBPyConnection, settings: Settings, run_date: date
) -> dict[str, Path]:
    """Write every configured partner's files for run_date; returns partner -> manifest path."""
    if not exists(con, RECIPIENTS):
        log.warning("exports %s: %s is missing; platform audiences will be empty", run_date, RECIPIENTS)
    summary = con.execute(
        f"select string_agg(distinct model_version, ',' order by model_version), max(generated_at) "
        f"from {CROSS_RECOMMENDATIONS.relation} where run_date = ?",
        [run_date],
    ).fetchone()
    return {partner: _export_partner(con, settings, run_date, partner, summary) for partner in settings.partners}


def _export_partner(
    con: duckdb.DuckDBPyConnection, settings: Settings, run_date: date, partner: str, summary: tuple
) -> Path:
    folder = export_dir(settings, partner, run_date)
    params = {"run_date": run_date, "partner": partner}
    queries = {"courses_for_customers": _COURSES_FOR_CUSTOMERS}
    if exists(con, RECIPIENTS):
        queries["platform_audience"] = _PLATFORM_AUDIENCE
    files = []
    for stem, query in queries.items():
        rows = con.execute(f"select count(*) from ({query})", params).fetchone()[0]
        for fmt in ("csv", "parquet"):
            path = folder / f"{stem}.{fmt}"
            options = "format csv, header true" if fmt == "csv" else "format parquet, compression zstd"
            with replacing(path) as tmp:
                con.execute(f"copy ({query}) to '{tmp}' ({options})", params)
            files.append(
                {"name": path.name, "rows": rows, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
            )
    manifest = {
        "partner": partner,
        "run_date": run_date.isoformat(),
        "model_version": summary[0],
        "generated_at": summary[1].isoformat() if summary[1] else None,
        "schema_version": EXPORT_SCHEMA_VERSION,
        "files": files,
    }
    manifest_path = folder / "manifest.json"
    with replacing(manifest_path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    log.info(
        "exports %s/%s: %s", partner, run_date, ", ".join(f"{f['name']}={f['rows']} rows" for f in files[::2])
    )
    _log_unreachable(con, params)
    return manifest_path


def _log_unreachable(con: duckdb.DuckDBPyConnection, params: dict) -> None:
    """Say how many platform recipients a partner cannot be told about (no contact hash)."""
    if not exists(con, RECIPIENTS):
        return
    unreachable = con.execute(
        f"""
        select count(distinct c.recipient_id) from {CROSS_RECOMMENDATIONS.relation} as c
        left join {RECIPIENTS} as r on r.recipient_source = 'platform' and r.recipient_id = c.recipient_id
        where c.run_date = $run_date and c.partner = $partner and c.direction = '{PLATFORM_TO_PARTNER}'
          and r.email_sha256 is null and r.phone_sha256 is null
        """,
        params,
    ).fetchone()[0]
    if unreachable:
        log.warning(
            "exports %s/%s: %d platform recipients left out of platform_audience (no email or phone hash)",
            params["partner"], params["run_date"], unreachable,
        )
