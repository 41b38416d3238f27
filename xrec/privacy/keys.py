"""Per-partner secrets for keyed pseudonyms (``XREC_EXPORT_KEYS_FILE``).

The file is JSON, never in the repository::

    {"partners": {"realty": {"active": "realty-20261130-3f9a", "keys": {"realty-20261130-3f9a": "<hex>"}}}}

``active`` names the key in use; rotating a partner's key means adding a new key and pointing
``active`` at it (its id is written in every manifest, so the partner knows its pseudonyms
changed). A fresh clone has no file: on first use at the default path xrec writes one with random
keys (mode 0600) and says so in the log; at any other path a missing file is an error, since
inventing keys there would silently change every partner's pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from xrec.config import DEFAULT_EXPORT_KEYS_FILE, PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

KEY_BYTES = 32
VARIABLE = "XREC_EXPORT_KEYS_FILE"


class MissingExportKey(RuntimeError):
    """A partner has no usable key: its export cannot be written."""


@dataclass(frozen=True)
class PartnerKey:
    partner: str
    key_id: str
    secret: bytes = field(repr=False)  # never printed

    def pseudonym(self, value: str) -> str:
        """HMAC-SHA256 of ``value`` under the partner's key, lowercase hex."""
        return hmac.new(self.secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


def new_keys(partners: tuple[str, ...] | list[str], today: date | None = None) -> dict:
    """A keys document with one fresh random key per partner."""
    stamp = (today or date.today()).strftime("%Y%m%d")
    document: dict[str, dict] = {"partners": {}}
    for partner in partners:
        key_id = f"{partner}-{stamp}-{secrets.token_hex(2)}"
        document["partners"][partner] = {"active": key_id, "keys": {key_id: secrets.token_hex(KEY_BYTES)}}
    return document


def write_keys_file(path: Path, document: dict) -> None:
    """Write ``document`` readable by its owner only (0600 from the start, then renamed in)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(document, out, indent=2)
        out.write("\n")
    os.replace(tmp, path)


def load_keys(settings: Settings) -> dict[str, PartnerKey]:
    """partner -> active key. Creates the default file on first use (see module doc)."""
    path = settings.export_keys_file
    if not path.exists():
        if path != PROJECT_ROOT / DEFAULT_EXPORT_KEYS_FILE:
            raise MissingExportKey(
                f"{VARIABLE} points at {path}, which does not exist; create it (README, Privacy) or unset the variable"
            )
        write_keys_file(path, new_keys(settings.partners))
        log.warning(
            "created %s with a random pseudonym key per partner (mode 0600; %s to use "
            "your own). Keep it: new keys change every pseudonym partners hold.",
            path,
            VARIABLE,
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        entries = document["partners"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise MissingExportKey(
            f"{VARIABLE} file {path} is not a keys document ({error}); see README, Privacy"
        ) from error
    keys = {}
    for partner, entry in entries.items():
        try:
            key_id = entry["active"]
            secret = bytes.fromhex(entry["keys"][key_id])
        except (KeyError, TypeError, ValueError):
            log.error("%s: partner %r has no valid active key; its exports will fail", path, partner)
            continue
        if len(secret) < 16:
            log.error("%s: partner %r key %s is shorter than 16 bytes; its exports will fail", path, partner, key_id)
            continue
        keys[partner] = PartnerKey(partner, key_id, secret)
    return keys


def key_for(settings: Settings, keys: dict[str, PartnerKey], partner: str) -> PartnerKey:
    """The partner's active key, or MissingExportKey naming the partner and the variable."""
    if partner not in keys:
        raise MissingExportKey(
            f"no pseudonym key for partner {partner!r} in {VARIABLE} ({settings.export_keys_file}); "
            f"add one (README, Privacy) and re-run publish: {partner}'s export was not written"
        )
    return keys[partner]
