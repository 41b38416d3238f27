"""`xrec run` (what `make run` calls) through Airflow on a small sample: published, served,
exported, reported — and a rerun of the same day changes nothing."""

from datetime import timedelta

import psycopg
import pytest

from tests.e2e.conftest import LAST_DAY

pytestmark = pytest.mark.e2e

PARTNERS = {"realty", "finance", "home", "automod"}


def test_daily_run_publishes_both_directions_for_every_partner(deployment, pg_database):
    dsn = f"postgresql://postgres@127.0.0.1:5432/{pg_database()}"
    xrec = deployment(serving_dsn=dsn)

    result = xrec.xrec("run", "--date", LAST_DAY.isoformat())
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "SUCCESS" in result.stdout and "run report" in result.stdout

    raw_tables = {
        name for (name,) in xrec.query("select table_name from information_schema.tables where table_schema = 'raw'")
    }
    for source in ["platform", *PARTNERS]:
        assert any(t.startswith(f"{source}__") for t in raw_tables), source

    published = xrec.query("""
        select direction, partner, count(distinct recipient_id), min(rank), max(rank)
        from cross_recommendations_current group by all""")
    assert {(d, p) for d, p, *_ in published} == (
        {("platform_to_partner", p) for p in PARTNERS} | {("partner_to_platform", p) for p in PARTNERS}
    )
    assert all(recipients > 0 and low == 1 for _, _, recipients, low, _ in published)

    report = xrec.root / "artifacts" / "reports" / f"{LAST_DAY}.html"
    assert report.exists()
    for partner in PARTNERS:
        assert (xrec.root / "exports" / partner / LAST_DAY.isoformat() / "manifest.json").exists()
    with psycopg.connect(dsn) as con:
        served = con.execute("select count(*) from xrec.cross_recommendations_current").fetchone()[0]
    assert served == sum(1 for _ in xrec.query("select 1 from cross_recommendations_current"))

    before = xrec.recommendations(LAST_DAY)
    again = xrec.xrec("run", "--date", LAST_DAY.isoformat())
    assert again.returncode == 0, again.stdout[-4000:]
    assert xrec.recommendations(LAST_DAY) == before


def test_a_corrupted_partner_drop_blocks_that_day_and_keeps_yesterday_current(deployment):
    xrec = deployment()
    yesterday = LAST_DAY - timedelta(days=1)
    assert xrec.xrec("run", "--date", yesterday.isoformat()).returncode == 0
    current = xrec.query("select * exclude (generated_at) from cross_recommendations_current order by all")
    assert current

    # Finance re-delivers today's drop with its interactions collapsed to a handful of rows.
    interactions = xrec.landing / "finance" / LAST_DAY.isoformat() / "interactions.csv"
    lines = interactions.read_text(encoding="utf-8").splitlines(keepends=True)
    interactions.write_text("".join(lines[:4]), encoding="utf-8")

    result = xrec.xrec("run", "--date", LAST_DAY.isoformat())
    assert result.returncode != 0
    log = result.stdout + result.stderr
    assert "finance" in log and "row_count" in log.lower()
    assert xrec.query("select * exclude (generated_at) from cross_recommendations_current order by all") == current
    assert xrec.query("select count(*) from cross_recommendations where run_date = ?", [LAST_DAY]) == [(0,)]
