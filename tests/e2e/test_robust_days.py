"""Issue 16 through real Airflow (`xrec run`) on one generated landing with corrupted files:
a stray quote costs one record; a file in the wrong encoding fails only its source's load,
at once (a verdict is not retried), naming the file; once re-delivered, the next day loads it
and judges it; a late partner under XREC_LATE_PARTNER_POLICY=skip is built from its last good
state, shown as late (late_sources, model_runs.late_sources, the report), and the other partners
publish; an orphan reference is kept, counted per partner and day (bi_orphan_references, the
summary, the report) and left out of the model."""

import csv
import gzip
import io
import re
from datetime import timedelta

import pytest

from tests.e2e.conftest import LAST_DAY

pytestmark = pytest.mark.e2e

DAY = LAST_DAY - timedelta(days=1)


def _stray_quote(path) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    fields = lines[2].split(",")
    fields[1] = '"' + fields[1]
    lines[2] = ",".join(fields)
    path.write_text("\n".join(lines), encoding="utf-8")


def _add_orphan(folder) -> str:
    """Append an interaction naming an item the partner never delivered; returns the item id."""
    path = next(folder.glob("interactions.csv*"))
    data = path.read_bytes()
    text = (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8-sig")
    last = next(csv.reader([text.rstrip("\n").rsplit("\n", 1)[-1]]))
    last[0], last[2] = last[0] + "-orphan", "NEVER-DELIVERED-1"
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(last)
    text = text.rstrip("\n") + "\n" + line.getvalue()
    path.write_bytes(gzip.compress(text.encode()) if path.suffix == ".gz" else text.encode())
    return last[2]


def test_corrupted_files_and_a_late_partner(deployment):
    xrec = deployment()
    events = xrec.landing / "platform" / DAY.isoformat() / "events.csv"
    assert events.exists()
    _stray_quote(events)
    items = xrec.landing / "home" / DAY.isoformat() / "items.csv"
    good_items = items.read_bytes()
    items.write_bytes(good_items.decode("utf-8-sig").encode("gbk", errors="replace"))

    failed = xrec.xrec("run", "--date", DAY.isoformat())
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0 and "FAILED" in out
    assert f"home/{DAY}/items.csv: not UTF-8" in out
    log = (xrec.root / "airflow" / "logs" / f"xrec-run-{DAY}.log").read_text()
    assert "AirflowFailException: IngestError" in log
    assert "up_for_retry" not in log.lower()  # a verdict is not retried
    # the other sources loaded; the broken event cost one record, named by its line
    loaded = {
        source for (source,) in xrec.query("select distinct source from raw.load_audit where delivery_date = ?", [DAY])
    }
    assert loaded == {"platform", "realty", "finance", "automod"}
    assert xrec.query(
        "select source_line, rule from raw.quarantine where source = 'platform' "
        "and entity = 'events' and delivery_date = ? and bad_value like '%quote%'",
        [DAY],
    ) == [(3, "malformed_row")]
    assert not (xrec.root / "artifacts" / "reports" / f"{DAY}.html").exists()  # nothing published

    # home re-delivers DAY; automod's drop for LAST_DAY is late and the policy is skip.
    items.write_bytes(good_items)
    (xrec.landing / "automod" / LAST_DAY.isoformat() / "_SUCCESS").unlink()
    orphan = _add_orphan(xrec.landing / "realty" / LAST_DAY.isoformat())
    xrec.env.update(XREC_LATE_PARTNER_POLICY="skip", XREC_WAIT_TIMEOUT_MINUTES="0")
    late = xrec.xrec("run", "--date", LAST_DAY.isoformat())
    assert late.returncode == 0, late.stdout[-4000:] + late.stderr[-4000:]
    assert (
        f"LATE automod: built from its last good state (automod is late: no complete drop "
        f"for business date {LAST_DAY}" in late.stdout
    )
    assert f"automod/{LAST_DAY}/_SUCCESS" in late.stdout
    assert xrec.query("select source from late_sources where run_date = ?", [LAST_DAY]) == [("automod",)]
    # model_runs says which partners the model saw only in their last good state
    assert xrec.query("select late_sources, is_published from model_runs where run_date = ?", [LAST_DAY]) == [
        ("automod", True)
    ]
    # home's re-delivered DAY drop was loaded and passed its gate before the run used it
    assert xrec.query(
        "select passed from delivery_verdicts where source = 'home' "
        "and delivery_date = ? order by decided_at desc limit 1",
        [DAY],
    ) == [(True,)]
    published = {
        partner
        for (partner,) in xrec.query(
            "select distinct partner from cross_recommendations where run_date = ?", [LAST_DAY]
        )
    }
    assert published == {"realty", "finance", "home", "automod"}
    # the orphan reference is kept as a late-arriving fact, counted per partner and day in a BI
    # mart, and left out of the model (with the references to items the sample's dirt got
    # quarantined, e.g. a negative price)
    unmatched = xrec.query(
        "select count(*) from marts.fct_interactions t where source = 'realty' "
        "and not exists (select 1 from marts.dim_item k where k.item_key = t.item_key)"
    )
    assert (
        xrec.query("select sum(orphan_interactions) from marts.bi_orphan_references where source = 'realty'")
        == unmatched
    )
    assert xrec.query(
        """
        select o.orphan_interactions >= 1 from marts.bi_orphan_references o
        join marts.fct_interactions t on t.source = o.source and t.occurred_date = o.occurred_date
        where t.item_key like ?""",
        [f"%{orphan}%"],
    ) == [(True,)]
    assert re.search(rf"orphan references .*: realty {unmatched[0][0]}\b", late.stdout)
    assert xrec.query("select count(*) from marts.fct_interactions where item_key like ?", [f"%{orphan}%"]) == [(1,)]
    assert xrec.query("select count(*) from marts.ml_interactions where item_key like ?", [f"%{orphan}%"]) == [(0,)]
    report = (xrec.root / "artifacts" / "reports" / f"{LAST_DAY}.html").read_text()
    assert "late drop(s) of automod" in report
    assert re.search(rf"Orphan references .*: .*realty {unmatched[0][0]}\b", report)
