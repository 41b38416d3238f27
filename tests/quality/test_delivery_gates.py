"""Issue 16 case 4 on a generated landing: a delivery that failed its raw gate blocks later
runs until it is re-delivered or accepted (`xrec accept-drop`, audited); earlier deliveries
never judged are judged before a run uses them."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import duckdb
import pytest

from xrec import daily
from xrec.cli import main
from xrec.config import Settings
from xrec.ingest import ingest_source
from xrec.quality import QualityGateFailed
from xrec.quality.deliveries import DeliveryBlocked
from xrec_tools.sample import generate

START, DAYS = date(2024, 5, 1), 4
D = START + timedelta(days=2)
NEXT = D + timedelta(days=1)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "landing"
    generate(out, START, DAYS, 600, 3)
    return out


def _run_source(settings: Settings, day: date) -> dict:
    ingest_source(settings, "platform", day)
    return daily.gate_raw(settings, "platform", day)


def _verdicts(settings: Settings) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(
            "select delivery_date, passed, decided_by, reason from delivery_verdicts order by decided_at"
        ).fetchall()


def test_a_failed_delivery_blocks_the_next_day_until_accepted_or_redelivered(generated, tmp_path, monkeypatch, capsys):
    landing = tmp_path / "landing"
    shutil.copytree(generated, landing)
    env = {
        "XREC_LANDING": str(landing),
        "XREC_WAREHOUSE": str(tmp_path / "w.duckdb"),
        "XREC_ARTIFACTS": str(tmp_path / "artifacts"),
    }
    settings = Settings.from_env(env)
    events = landing / "platform" / D.isoformat() / "events.csv"
    original = events.read_bytes()
    events.write_bytes(b"\n".join(original.split(b"\n")[:2]) + b"\n")  # header + 1 row

    # The first run judges the never-gated backlog (START, START+1) before using it.
    assert _run_source(settings, START + timedelta(days=1))["included"]
    with pytest.raises(QualityGateFailed, match="row_count"):
        _run_source(settings, D)

    # D+1: D's failed delivery is not bypassed.
    with pytest.raises(
        DeliveryBlocked,
        match=rf"(?s)platform {D}: failed .*row_count_to_be_between.*xrec accept-drop "
        rf"--source platform --date {D}",
    ):
        _run_source(settings, NEXT)

    # An operator accepts D as it is: logged, and D+1 runs.
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert (
        main(
            [
                "accept-drop",
                "--source",
                "platform",
                "--date",
                D.isoformat(),
                "--reason",
                "promo pause, 1 event is right",
            ]
        )
        == 0
    )
    assert "accepted platform" in capsys.readouterr().out
    assert _run_source(settings, NEXT)["included"]
    assert (D, True, _verdicts(settings)[-2][2], "promo pause, 1 event is right") in _verdicts(settings) and _verdicts(
        settings
    )[-2][2].startswith("accept-drop by ")

    # A corrected re-delivery of D is a new load: judged again (and passes) on the next run.
    events.write_bytes(original)
    assert _run_source(settings, NEXT)["included"]
    judged = [row for row in _verdicts(settings) if row[0] == D]
    assert [passed for _, passed, *_ in judged] == [False, True, True]
    assert judged[-1][2] == "raw gate"
