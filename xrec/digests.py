"""The SHA-256 of a file: the fingerprint ingest audits a delivered file by (a re-delivery with
the same bytes is skipped) and the checksum an export's manifest gives its partner."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks (files may be larger than memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
