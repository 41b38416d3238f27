"""The landing folder: which drops exist for a source, which are complete, which files they hold.

Layout (shared/CONTRACT.md): ``<landing>/<source>/<YYYY-MM-DD>/<entity>.csv|.csv.gz|.parquet``
plus a ``_SUCCESS`` written last: empty, or (contract v2) a JSON manifest
``{"files": {"<file name>": {"rows": N, "sha256": "<hex>"}}}`` the files are checked against. Ingest only reads here; it never changes the folder.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from xrec.config import Settings
from xrec.digests import sha256_file
from xrec.ingest.entities import entities_for
from xrec.ingest.errors import IngestError

log = logging.getLogger(__name__)

SUCCESS_MARKER = "_SUCCESS"
FORMATS = (".csv.gz", ".csv", ".parquet")  # longest suffix first


@dataclass(frozen=True)
class EntityFile:
    """One delivered entity file and its fingerprint (for the load audit)."""

    entity: str
    path: Path
    relative_path: str  # relative to the landing root, as stored in raw tables
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class Drop:
    """One dated drop folder of one source."""

    source: str
    delivery_date: date
    folder: Path

    @property
    def is_complete(self) -> bool:
        return (self.folder / SUCCESS_MARKER).is_file()


@dataclass(frozen=True)
class ManifestEntry:
    rows: int | None  # data rows, header excluded
    sha256: str | None


def read_manifest(drop: Drop) -> dict[str, ManifestEntry] | None:
    """File name -> what the sender says it holds; None for an empty ``_SUCCESS`` (v1)."""
    text = (drop.folder / SUCCESS_MARKER).read_text(encoding="utf-8-sig", errors="replace")
    if not text.strip():
        return None
    where = f"{drop.source}/{drop.delivery_date}/{SUCCESS_MARKER}"
    try:
        files = json.loads(text)["files"]
        return {
            name: ManifestEntry(
                None if entry.get("rows") is None else int(entry["rows"]), (entry.get("sha256") or "").lower() or None
            )
            for name, entry in files.items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IngestError(
            f"{where}: not an empty marker nor a JSON manifest "
            f'{{"files": {{"<file>": {{"rows": N, "sha256": "<hex>"}}}}}} ({exc!r}); '
            "nothing of this drop was loaded. Ask the sender to re-deliver the marker."
        ) from exc


def check_against_manifest(drop: Drop, files: dict[str, EntityFile], manifest: dict[str, ManifestEntry] | None) -> None:
    """IngestError unless every file is listed with its checksum and every listed file is here."""
    if manifest is None:
        return
    present = {file.path.name: file for file in files.values()}
    where = f"{drop.source}/{drop.delivery_date}"
    missing = sorted(set(manifest) - set(present))
    if missing:
        raise IngestError(
            f"{where}: the _SUCCESS manifest lists {missing} but the drop does not "
            "hold them: the drop is incomplete. Ask the sender to re-deliver it."
        )
    for name, file in present.items():
        entry = manifest.get(name)
        if entry is None:
            raise IngestError(
                f"{file.relative_path}: not listed in the drop's _SUCCESS manifest "
                f"(it lists {sorted(manifest)}); re-deliver the drop with a "
                "manifest that covers every file."
            )
        if entry.sha256 and entry.sha256 != file.sha256:
            raise IngestError(
                f"{file.relative_path}: sha256 {file.sha256[:12]}… disagrees with the _SUCCESS "
                f"manifest ({entry.sha256[:12]}…): the file is incomplete or corrupted. Nothing "
                "of this source was loaded; ask the sender to re-deliver it."
            )


def check_rows_against_manifest(file: EntityFile, rows_read: int, manifest: dict[str, ManifestEntry] | None) -> None:
    entry = (manifest or {}).get(file.path.name)
    if entry is not None and entry.rows is not None and entry.rows != rows_read:
        raise IngestError(
            f"{file.relative_path}: {rows_read:,} data rows read but the _SUCCESS manifest says "
            f"{entry.rows:,}: the file is incomplete or corrupted. Nothing of this source was "
            "loaded; ask the sender to re-deliver it."
        )


def drop_folder(settings: Settings, source: str, run_date: date) -> Path:
    """``<landing>/<source>/<run_date>``."""
    return settings.landing / source / run_date.isoformat()


def drop_is_complete(settings: Settings, source: str, run_date: date) -> bool:
    """True when ``source``'s drop for exactly ``run_date`` carries its ``_SUCCESS`` marker."""
    return (drop_folder(settings, source, run_date) / SUCCESS_MARKER).is_file()


def drops_up_to(settings: Settings, source: str, run_date: date) -> list[Drop]:
    """Every drop folder of ``source`` dated on or before ``run_date``, oldest first.

    Later-dated folders are never opened: a run for a date sees only what had landed by then.
    """
    root = settings.landing / source
    if not root.is_dir():
        return []
    drops = []
    for folder in root.iterdir():
        try:
            delivery_date = date.fromisoformat(folder.name)
        except ValueError:
            if folder.is_dir():
                log.warning("%s: ignoring folder %s (not a YYYY-MM-DD drop)", source, folder)
            continue
        if folder.is_dir() and delivery_date <= run_date:
            drops.append(Drop(source, delivery_date, folder))
    return sorted(drops, key=lambda drop: drop.delivery_date)


def entity_files(settings: Settings, drop: Drop) -> dict[str, EntityFile]:
    """The drop's entity files by entity; unknown files are logged and ignored."""
    known = entities_for(drop.source)
    found: dict[str, EntityFile] = {}
    for path in sorted(drop.folder.iterdir()):
        if path.name == SUCCESS_MARKER or path.name.startswith("."):
            continue
        suffix = next((fmt for fmt in FORMATS if path.name.endswith(fmt)), None)
        entity = path.name[: -len(suffix)] if suffix else None
        if entity not in known or not path.is_file():
            log.warning(
                "%s %s: ignoring unknown file %s (expected one of %s as %s)",
                drop.source,
                drop.delivery_date,
                path.name,
                sorted(known),
                "/".join(FORMATS),
            )
            continue
        if entity in found:
            raise IngestError(
                f"{drop.source} {drop.delivery_date}: {entity} is delivered twice "
                f"({found[entity].path.name} and {path.name}); keep one file per entity "
                "and re-deliver the drop"
            )
        found[entity] = EntityFile(
            entity=entity,
            path=path,
            relative_path=path.relative_to(settings.landing).as_posix(),
            size_bytes=path.stat().st_size,
            sha256=sha256_file(path),
        )
    return found
