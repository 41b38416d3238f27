from datetime import date, timedelta

import duckdb

from xrec.config import Settings
from xrec.ingest import ingest_source
from xrec.privacy.retention import purge_expired

RUN = date(2026, 11, 30)


def _drop(landing, day: date, user: str) -> None:
    folder = landing / "platform" / day.isoformat()
    folder.mkdir(parents=True)
    (folder / "users.csv").write_text(
        "user_id,email,phone,city,birth_year,gender,signup_at,interests,updated_at\n"
        f"{user},{user}@example.com,+8613800000000,beijing,1990,F,2020-01-01T00:00:00,,{day}T08:00:00\n"
        f",x@example.com,,beijing,1990,F,2020-01-01T00:00:00,,{day}T08:00:00\n"
    )  # quarantined
    (folder / "_SUCCESS").write_text("")


def test_retention_purges_old_partitions_and_quarantine_logs_it_and_ingest_skips_them(tmp_path):
    settings = Settings.isolated(tmp_path, {"XREC_RAW_RETENTION_DAYS": "30", "XREC_PARTNERS": "realty"})
    old, recent = RUN - timedelta(days=31), RUN - timedelta(days=30)
    _drop(settings.landing, old, "u1")
    _drop(settings.landing, recent, "u2")
    ingest_source(settings, "platform", recent)  # loads both: the cutoff is relative to the run
    listings = settings.artifacts / "data_docs" / "quarantine" / "platform"
    listings.mkdir(parents=True)
    for day in (old, recent):
        (listings / f"{day}.csv").write_text("entity\nusers\n")
    result = purge_expired(settings, RUN)
    assert result["rows_removed"] == {"raw.platform__users": 1, "raw.quarantine": 1}
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("select user_id from raw.platform__users").fetchall() == [("u2",)]
        assert con.execute("select delivery_date from raw.quarantine").fetchall() == [(recent,)]
        audit = con.execute(
            "select target, rows_removed, cutoff_date from raw.privacy_audit where action = 'retention' order by target"
        ).fetchall()
    assert [p.name for p in listings.iterdir()] == [f"{recent}.csv"]
    assert audit == [("raw", 2, recent), ("raw.platform__users", 1, recent), ("raw.quarantine", 1, recent)]
    summary = ingest_source(settings, "platform", RUN)  # the purged drop is still in the landing
    assert summary.drops_loaded == () and summary.drops_unchanged == (recent,)  # old: not even looked at
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("select user_id from raw.platform__users").fetchall() == [("u2",)]
