import json
import re
import shutil
import subprocess
from datetime import date, timedelta

import duckdb
import pytest

from xrec.publish import publish
from xrec.publish.report import build_report

START = date(2026, 3, 1)
FIGURES = ("fig-metrics", "fig-recommendations", "fig-quality", "fig-segments", "fig-outcomes")
CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make system-deps)")

# Appended to a copy of the report: records, once the page has loaded, whether each figure's
# image decoded, plus any script error, into the DOM that --dump-dom prints.
PROBE = """<script>
const errors = [];
window.addEventListener('error', e => errors.push(String(e.message)));
window.addEventListener('load', () => {
  const figures = [...document.querySelectorAll('figure')].map(f => {
    const img = f.querySelector('img');
    return {id: f.id, img: !!img, width: img ? img.naturalWidth : 0, note: !!f.querySelector('.note')};
  });
  const out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify({figures, errors});
  document.body.appendChild(out);
});
</script></body>"""


def _chromium(tmp_path, *args):
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--virtual-time-budget=5000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )


def _render(tmp_path, report):
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE), encoding="utf-8")
    result = _chromium(tmp_path, "--dump-dom", probed.as_uri())
    probe = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S)[1].replace("&quot;", '"'))
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line]
    return {f["id"]: f for f in probe["figures"]}, probe["errors"] + console


def _with_outcomes(settings):
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create schema if not exists staging")
        con.execute(
            """
            create table staging.stg_partners__outcomes as
            select partner, 'x-c1' as customer_id, 'x-i1' as item_id, $start + d::int as recommended_date, event_type,
                   ($start + d::int)::timestamp as occurred_at
            from (values ('realty'), ('finance')) p(partner), range(5) t(d),
                 (select case when i < 20 then 'impression' when i < 24 then 'click' else 'conversion' end
                  from range(25) e(i)) e(event_type)
            """,
            {"start": START},
        )


@needs_chromium
def test_report_renders_every_plot_in_headless_chromium(settings, warehouse, tmp_path):
    for day in range(5):
        warehouse(START + timedelta(day), f"v{day}", candidates=day != 2)
        publish(settings, START + timedelta(day))
    _with_outcomes(settings)
    report = build_report(settings, START + timedelta(4))

    assert report == settings.artifacts / "reports" / "2026-03-05.html"
    html = report.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html, "report must not need the network"
    figures, errors = _render(tmp_path, report)
    assert set(figures) == set(FIGURES)
    for figure in figures.values():
        assert figure["img"] and figure["width"] > 0, figure
    assert not errors

    screenshot = tmp_path / "report.png"
    _chromium(tmp_path, "--window-size=1200,2400", f"--screenshot={screenshot}", report.as_uri())
    assert screenshot.stat().st_size > 50_000


@needs_chromium
def test_first_day_report_explains_what_is_missing(settings, tmp_path):
    report = build_report(settings, START)  # no warehouse at all yet
    figures, errors = _render(tmp_path, report)
    assert set(figures) == set(FIGURES) and not errors
    assert all(f["note"] and not f["img"] for f in figures.values())
    assert "No outcomes yet" in report.read_text(encoding="utf-8")


def test_unpublished_run_says_why(settings, warehouse):
    warehouse(START, "v0", candidates=False)
    publish(settings, START)
    html = build_report(settings, START).read_text(encoding="utf-8")
    assert "Not published (v0: below baseline)" in html
    assert 'id="fig-metrics"><h2>Offline metric vs baseline</h2><img' in html
