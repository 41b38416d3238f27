"""Timing spans: reported only while a recorder listens, outermost only, units per call."""

from __future__ import annotations

import threading

from xrec.spans import recording, span, spanned


@spanned("work", units=lambda rows, epochs=1: len(rows) * epochs)
def work(rows: list, epochs: int = 1) -> int:
    return len(rows) * epochs


@spanned("outer")
def outer() -> int:
    return work([1, 2]) + work([3])


def test_spans_report_outermost_calls_with_units_only_while_recording():
    assert work([1]) == 1  # nobody listens: nothing recorded, the call is unchanged
    seen: list[tuple[str, int]] = []
    with recording(lambda name, seconds, units: seen.append((name, units))):
        assert work([1, 2, 3], epochs=2) == 6
        assert outer() == 3  # its inner work calls are part of "outer"
        with span("block", units=5):
            work([1])
    assert seen == [("work", 6), ("outer", 0), ("block", 5)]
    work([1])
    assert len(seen) == 3


def test_a_recorder_does_not_hear_a_thread_it_did_not_start_work_on():
    seen: list[str] = []
    with recording(lambda name, seconds, units: seen.append(name)):
        other = threading.Thread(target=work, args=([1],))
        other.start()
        other.join()
    assert seen == []


def test_work_the_recorder_hands_to_map_blocks_is_heard_and_inner_spans_stay_inside():
    from ml.embeddings import map_blocks

    seen: list[tuple[str, int]] = []
    with recording(lambda name, seconds, units: seen.append((name, units))):
        assert map_blocks(lambda rows: work(rows, epochs=2), [[1], [2, 3]], threads=2) == [2, 4]
        with span("block"):
            map_blocks(work, [[1], [2]], threads=2)
    assert sorted(seen) == [("block", 0), ("work", 2), ("work", 4)]
