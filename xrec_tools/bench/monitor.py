"""Wall time and peak RSS per stage: a psutil sampler thread plus a stage clock with parts.

Peak RSS covers this process and its children; a stage whose steps ran as task processes (see
xrec_tools.bench.job) takes the largest task's own peak instead. Parts are the spans the steps
report (xrec.spans) and the blocks timed with `part`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

SAMPLE_SECONDS = 0.05
MB = 1024 * 1024


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of `process` plus all its live descendants."""
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:  # the child exited between listing and reading
            continue
    return total


class RssSampler:
    """Samples the process tree's RSS in a daemon thread; `take_peak` closes a window."""

    def __init__(self, interval: float = SAMPLE_SECONDS):
        self._process = psutil.Process()
        self._interval = interval
        self._lock = threading.Lock()
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="xrec-bench-rss", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def sample(self) -> int:
        rss = tree_rss(self._process)
        with self._lock:
            self._peak = max(self._peak, rss)
        return rss

    def take_peak(self) -> int:
        """The peak since the previous call (sampled once more now); starts the next window."""
        current = self.sample()
        with self._lock:
            peak, self._peak = self._peak, current
        return peak


@dataclass
class Part:
    calls: int = 0
    seconds: float = 0.0
    units: int = 0  # what the call processed, when its span counts (e.g. interactions fitted)

    def add(self, other: Part) -> None:
        self.calls += other.calls
        self.seconds += other.seconds
        self.units += other.units


@dataclass
class Stage:
    seconds: float
    peak_rss_mb: float
    parts: dict[str, Part] = field(default_factory=dict)


class Journal:
    """Each finished stage as one JSON line, written when it finishes: what a benchmark that fails
    or is killed leaves behind (its results document is written only once every size is done,
    so a stopped 3-hour L run used to keep nothing but log lines)."""

    def __init__(self, path: Path):
        self.path = path

    def add(self, run: str, name: str, stage: Stage) -> None:
        line = {
            "run": run,
            "stage": name,
            **asdict(stage),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        with self.path.open("a") as file:
            file.write(json.dumps(line) + "\n")


class StageClock:
    """Times named stages (one window of the sampler each) and the parts called inside them;
    with a journal, each finished stage is also written to it."""

    def __init__(self, sampler: RssSampler, label: str = "", journal: Journal | None = None):
        self._sampler = sampler
        self._label = label
        self.journal = journal
        self.stages: dict[str, Stage] = {}
        self.current: str | None = None
        self._parts: dict[str, Part] = {}
        self._task_peak_mb = 0.0

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self._sampler.take_peak()
        self.current, self._parts, self._task_peak_mb = name, {}, 0.0
        started = time.perf_counter()
        yield  # no finally: after a failure `current` still names the stage that failed
        seconds = time.perf_counter() - started
        sampled_mb = self._sampler.take_peak() / MB
        self.stages[name] = Stage(seconds, self._task_peak_mb or sampled_mb, self._parts)
        log.info("bench %s %s: %.2f s, peak RSS %.0f MB", self._label, name, seconds, self.stages[name].peak_rss_mb)
        if self.journal is not None:
            self.journal.add(self._label, name, self.stages[name])
        self.current, self._parts = None, {}

    @contextmanager
    def part(self, name: str, units: int = 0) -> Iterator[None]:
        """Adds the block's time to part `name` of the current stage (outside a stage: ignored)."""
        parts = self._parts
        started = time.perf_counter()
        yield
        parts.setdefault(name, Part()).add(Part(1, time.perf_counter() - started, units))

    def record(self, name: str, seconds: float, units: int = 0) -> None:
        """A span's report (xrec.spans.recording): adds to part `name` of the current stage."""
        self._parts.setdefault(name, Part()).add(Part(1, seconds, units))

    def add_task(self, task: Stage) -> None:
        """Fold a task process's own stage into the current one: its parts and its peak RSS."""
        self._task_peak_mb = max(self._task_peak_mb, task.peak_rss_mb)
        for name, part in task.parts.items():
            self._parts.setdefault(name, Part()).add(part)
