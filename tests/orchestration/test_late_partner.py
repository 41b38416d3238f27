"""The drop sensor's poke on a generated landing (issue 16, case 7): a late drop is named with
its partner, date and missing marker; under XREC_LATE_PARTNER_POLICY=skip a late partner (never
the platform) lets the run go on."""

from datetime import UTC, date, datetime, timedelta

import pytest

from xrec import daily
from xrec.config import Settings
from xrec_tools.sample import generate

DAY = date(2024, 5, 1)


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "landing"
    generate(out, DAY, 1, 50, 1)
    (out / "realty" / DAY.isoformat() / "_SUCCESS").unlink()
    (out / "platform" / DAY.isoformat() / "_SUCCESS").unlink()
    return out


def _settings(landing, policy: str) -> Settings:
    return Settings.isolated(
        landing.parent,
        {"XREC_LANDING": str(landing), "XREC_WAIT_TIMEOUT_MINUTES": "30", "XREC_LATE_PARTNER_POLICY": policy},
    )


def test_the_sensor_waits_then_names_partner_date_and_marker(landing):
    settings = _settings(landing, "fail")
    now = datetime.now(UTC)
    assert daily.wait_for_drop(settings, "home", DAY, now) == {"late": False}
    assert daily.wait_for_drop(settings, "realty", DAY, now - timedelta(minutes=29)) is None
    marker = landing / "realty" / DAY.isoformat() / "_SUCCESS"
    with pytest.raises(
        daily.DropLate,
        match=rf"realty is late: no complete drop for business "
        rf"date {DAY} after 31 min .*missing marker {marker}",
    ):
        daily.wait_for_drop(settings, "realty", DAY, now - timedelta(minutes=31))


def test_skip_lets_a_late_partner_through_but_never_the_platform(landing):
    settings = _settings(landing, "skip")
    since = datetime.now(UTC) - timedelta(minutes=31)
    state = daily.wait_for_drop(settings, "realty", DAY, since)
    assert state["late"] and f"realty/{DAY}/_SUCCESS" in state["reason"]
    with pytest.raises(daily.DropLate, match="platform is late"):
        daily.wait_for_drop(settings, "platform", DAY, since)
    with pytest.raises(ValueError, match="XREC_LATE_PARTNER_POLICY must be 'fail' or 'skip'"):
        _settings(landing, "later")


def test_late_sources_are_recorded_per_run_date_and_cleared_by_a_rerun(tmp_path):
    import duckdb

    from xrec.quality.late import late_sources, record_late

    settings = Settings.isolated(tmp_path)
    record_late(settings, DAY, {"realty": "realty is late"})
    record_late(settings, DAY + timedelta(days=1), {})
    with duckdb.connect(str(settings.warehouse)) as con:
        assert late_sources(con, DAY) == [("realty", "realty is late")]
    record_late(settings, DAY, {})  # the day rerun once the drop landed
    with duckdb.connect(str(settings.warehouse)) as con:
        assert late_sources(con, DAY) == []
