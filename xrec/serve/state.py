"""The model a server answers from, switched to a newly published one without a restart.

`ModelHolder.current` is one immutable `ServingModel`; a request reads it once and answers
from that object to the end, so a swap (one reference assignment, atomic in Python) never
changes a model under a request in flight. A daemon thread polls the published pointer
(serving/current.json) and builds the new model beside the old before swapping.

A loaded model's containers (one payload per published list, the marts' frames, the indexes)
live until the next swap. Left in the cyclic collector's oldest generation, they are walked by
every full collection: 140-190 ms at M (922k published lists, ~142k tracked objects), a stall in
which 500 lookups/s pile up (the benchmark shed them). So after a
swap the heap is collected once (the previous model's cycles, if any, go) and what survives is
frozen out of the collector's generations (`gc.freeze`); the objects requests make are collected
as before.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from datetime import UTC, datetime

from xrec.config import Settings
from xrec.publish.serving import pointer_path
from xrec.serve.model import ServingModel, bundle_folder, load_model

log = logging.getLogger(__name__)


class ModelHolder:
    def __init__(self, settings: Settings, poll_seconds: float):
        self.settings = settings
        self.poll_seconds = poll_seconds
        self.current: ServingModel | None = None
        self.loaded_at: str | None = None
        self.last_error: str | None = None
        self._seen: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="xrec-model-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self.poll_seconds)

    def refresh(self) -> bool:
        """Load and swap in the published bundle if the pointer moved; True when swapped."""
        path = pointer_path(self.settings)
        try:
            text = path.read_text()
        except FileNotFoundError:
            self.last_error = f"nothing published yet: {path} does not exist"
            return False
        if text == self._seen:
            return False
        self._seen = text  # a bundle that fails to load is not retried until the pointer moves
        try:
            started = time.monotonic()
            model = load_model(self.settings, bundle_folder(self.settings, json.loads(text)))
        except Exception as error:  # keep answering from the previous model
            self.last_error = f"loading {text.strip()} failed: {type(error).__name__}: {error}"
            log.exception("serving model not switched: %s", self.last_error)
            return False
        self.current = model
        _freeze_survivors()
        self.loaded_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.last_error = None
        log.info(
            "now serving %s (%s), loaded in %.1f s",
            model.info["model_version"],
            model.bundle,
            time.monotonic() - started,
        )
        return True


def _freeze_survivors() -> None:
    """One full collection of everything, the previously frozen model included, then freeze the
    survivors: a pause per swap instead of one per full collection while serving."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
