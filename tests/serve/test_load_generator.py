"""The benchmark's open-loop load generator (xrec_tools.bench.serving) against a real `xrec serve`."""

from __future__ import annotations

import json

import uvloop
from server_helpers import TOKENS

from xrec.publish.serving import pointer_path
from xrec_tools.bench.serving import _drive, _requests


def test_the_generator_offers_its_rate_and_counts_what_the_server_answers(server, published):
    folder = published.artifacts / "serving" / json.loads(pointer_path(published).read_text())["bundle"]
    lookups, bodies = _requests(folder, published.partners, seed=1)
    figures = uvloop.run(
        _drive(
            server.url,
            TOKENS["platform"],
            40,
            2.0,
            lambda n: ("POST", "/v1/recommendations/score", bodies[n]) if n % 2 else ("GET", lookups[n], None),
        )
    )
    assert figures["requests"] == 80 and figures["failed"] == 0
    # open loop: the schedule, not the answers, sets the pace. Every request went out near its due
    # time (bounds generous enough for a loaded CI machine), and no more were answered than offered.
    assert figures["late_p99_ms"] < 1000
    assert 0 < figures["achieved_rps"] <= 41
    assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    # a refused request is a failure with its status, never a latency
    refused = uvloop.run(_drive(server.url, "not-a-token", 20, 0.5, lambda n: ("GET", lookups[n], None)))
    assert refused["failed"] == 10 and refused["failures"] == ["401"] and refused["p99_ms"] is None
