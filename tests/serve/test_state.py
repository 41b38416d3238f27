"""The served model is kept out of the cyclic collector's way, and a replaced one is freed."""

from __future__ import annotations

import gc
import json
import weakref

from xrec.publish.serving import pointer_path
from xrec.serve.state import ModelHolder


def _collector_walks(obj) -> bool:
    """Whether a collection of generations 0-2 visits `obj` (frozen objects are not in them)."""
    return any(tracked is obj for tracked in gc.get_objects())


def test_a_loaded_model_is_frozen_and_the_model_it_replaces_is_freed(copy_of_published):
    holder = ModelHolder(copy_of_published, poll_seconds=60)
    try:
        assert holder.refresh()
        first = weakref.ref(holder.current)
        assert not _collector_walks(holder.current.lists.payloads)
        assert not _collector_walks(holder.current.dataset)

        # The same bundle under a rewritten pointer: loaded again as a new model.
        pointer = pointer_path(copy_of_published)
        pointer.write_text(json.dumps(json.loads(pointer.read_text()), indent=2))
        assert holder.refresh()
        assert first() is None, "the replaced model is still in memory"
        assert not _collector_walks(holder.current.lists.payloads)

        # What requests allocate afterwards is collected as before.
        after = [[]]
        assert _collector_walks(after)
    finally:
        gc.unfreeze()
