"""Ingest's domain exception."""

from __future__ import annotations

from xrec.verdicts import Verdict


class IngestError(Verdict, RuntimeError):
    """A source's drop cannot be loaded; the message names the file, the cause and the fix."""
