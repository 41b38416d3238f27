"""The raw suites accept what xrec_tools.sample generates once xrec.ingest has loaded it."""

from __future__ import annotations

from datetime import date

from xrec.ingest import ingest_source
from xrec.quality import summarise, validate_raw
from xrec_tools.sample import generate

START = date(2024, 3, 1)


def test_generated_sample_passes_every_raw_suite(settings):
    generate(settings.landing, START, 1, 200, 7)

    results = []
    for source in settings.sources:
        ingest_source(settings, source, START)
        results.append(validate_raw(settings, source, START))

    assert all(r.passed for r in results)
    assert sum(s.rows for r in results for s in r.suites) > 200
    # the generator's soft dirt (re-sent events) is reported, not blocking
    assert all(f.severity == "warn" for r in results for f in r.failures)
    assert "0 failed" in summarise(settings, START)
