"""Logging for xrec's own processes (the CLI and the benchmark's task processes)."""

from __future__ import annotations

import logging


def configure_logging(verbose: bool) -> None:
    """Timestamped INFO progress lines (DEBUG when verbose) on stderr."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # GX logs its own bookkeeping at INFO (one line per registered method): not progress.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
