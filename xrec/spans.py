"""Named timing spans on the parts of the daily job's steps (load the marts, fit, rank, write...).

A function is marked where it is defined (``@spanned("fit")``), so renaming or moving it keeps its
span. Nothing is measured unless a recorder listens (the benchmark, ``recording``); a span inside
another span is part of the outer one and is not reported on its own (model selection's fits are
"select", not "fit"). The recorder sees the spans of its own thread and of the threads
ml.embeddings.map_blocks runs for it (they run in a copy of its context); reports are serialised.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

# (part name, seconds, units): what a span reports to the recorder.
Recorder = Callable[[str, float, int], None]

_recorder: ContextVar[Recorder | None] = ContextVar("xrec_span_recorder", default=None)
_inside: ContextVar[bool] = ContextVar("xrec_inside_span", default=False)
_reporting = threading.Lock()  # a recorder adds to its totals: one report at a time

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def recording(recorder: Recorder) -> Iterator[None]:
    """Report every outermost span of this thread to ``recorder`` during the block."""
    token = _recorder.set(recorder)
    try:
        yield
    finally:
        _recorder.reset(token)


@contextmanager
def span(name: str, units: int = 0) -> Iterator[None]:
    """Time the block as part ``name`` (``units``: what it processed, e.g. rows x epochs)."""
    recorder = _recorder.get()
    if recorder is None or _inside.get():
        yield
        return
    token = _inside.set(True)
    started = time.perf_counter()
    try:
        yield
    finally:
        _inside.reset(token)
    with _reporting:
        recorder(name, time.perf_counter() - started, units)


def spanned(name: str, units: Callable[..., int] | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: every call of the function is a span ``name``; ``units`` gets the call's
    arguments and says what it processed."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if _recorder.get() is None:
                return function(*args, **kwargs)
            with span(name, units(*args, **kwargs) if units else 0):
                return function(*args, **kwargs)

        return wrapper

    return decorate
