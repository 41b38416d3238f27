"""What can stop the publish step, with messages that say which table and what to do."""

from __future__ import annotations


class PublishError(RuntimeError):
    """The run cannot be published as delivered (names the table and the missing piece)."""
