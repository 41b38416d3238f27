"""Stage clock, RSS sampling and the parts spans report."""

import time

import numpy as np

from xrec.spans import recording, span
from xrec_tools.bench.monitor import Part, RssSampler, Stage, StageClock


def test_stages_record_time_peak_rss_and_parts():
    with RssSampler(interval=0.01) as sampler:
        clock = StageClock(sampler)
        with clock.stage("alloc"):
            with clock.part("fill"):
                block = np.ones(64 * 1024 * 1024 // 8)  # 64 MB, touched
                time.sleep(0.05)
            del block
        with clock.stage("idle"):
            time.sleep(0.02)
    alloc, idle = clock.stages["alloc"], clock.stages["idle"]
    assert alloc.seconds >= 0.05 and idle.seconds >= 0.02
    assert alloc.peak_rss_mb > 64 and idle.peak_rss_mb > 0
    assert alloc.parts["fill"].calls == 1 and alloc.parts["fill"].seconds >= 0.05
    assert idle.parts == {}


def test_spans_of_a_stage_become_its_parts():
    with RssSampler() as sampler:
        clock = StageClock(sampler)
        with clock.stage("step"), recording(clock.record):
            with span("work", units=3):
                pass
            with span("work", units=1):
                pass
    part = clock.stages["step"].parts["work"]
    assert (part.calls, part.units) == (2, 4)


def test_a_stage_of_task_processes_takes_their_peak_and_parts():
    with RssSampler() as sampler:
        clock = StageClock(sampler)
        with clock.stage("ingest"):
            clock.add_task(Stage(1.0, 300.0, {"parse": Part(1, 0.5, 10)}))
            clock.add_task(Stage(2.0, 500.0, {"parse": Part(2, 1.0, 5)}))
    ingest = clock.stages["ingest"]
    assert ingest.peak_rss_mb == 500.0  # the largest task, not this harness process
    assert (ingest.parts["parse"].calls, ingest.parts["parse"].seconds, ingest.parts["parse"].units) == (3, 1.5, 15)
