"""`xrec generate`: write a deterministic sample landing folder plus its manifest.

Day by day, source by source: day 0 is a full snapshot of users/courses/customers/items, later
days carry new and changed rows plus that day's events. Only entity state is kept between days
(and a handful of events to re-send), so memory does not grow with ``days``. Each (source, day)
draws from its own seeded generator, so output is byte-identical for a seed.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from xrec.config import DEFAULT_PARTNERS, PLATFORM
from xrec_tools.sample.activity import partner_interactions, platform_events
from xrec_tools.sample.catalogue import FACET_VALUES, Catalogue, build_catalogue, facet_labels
from xrec_tools.sample.consent import Consent, add_share_with, deletions_frame, plan_consent
from xrec_tools.sample.csvfile import FileFormat, write_csv
from xrec_tools.sample.dirt import (
    DIRT,
    EVENT_RULES,
    INTERACTION_RULES,
    ITEM_RULES,
    PERSON_RULES,
    PLANT_COLUMN,
    insert_resent,
    malformed_line,
    plant_duplicates,
    plant_violations,
    take_resend,
)
from xrec_tools.sample.frames import render_catalogue, render_customers, render_users
from xrec_tools.sample.latent import DEFAULT, LATENT, PROFILES, LatentTaste, build_taste
from xrec_tools.sample.manifest import Manifest, manifest_path, superseded_dir, truth_dir, write_truth_table
from xrec_tools.sample.population import Customers, People, PlatformUsers, build_customers, build_platform_users
from xrec_tools.sample.taxonomy import Taxonomy, load_taxonomy

log = logging.getLogger(__name__)

PARTNERS = DEFAULT_PARTNERS
SOURCES = (PLATFORM, *PARTNERS)
COURSES_PER_USER, MIN_COURSES = 1 / 50, 200
ITEMS_PER_USER, MIN_ITEMS = 1 / 10, 100
# Daily share of existing rows re-delivered with a newer updated_at.
UPDATE_SHARE = {"users": 0.01, "customers": 0.01, "courses": 0.02, "items": 0.03}
MOVE_SHARE = 0.3  # updated people who moved city
DEACTIVATE_SHARE = 0.2  # updated items whose is_active flips
TS_SUFFIX = {"finance": "+08:00"}  # this partner writes explicit offsets
BOM_SOURCES = {"home"}
GZIP_FILES = {("automod", "interactions")}
SUPERSEDED_KEEP_SHARE = 0.9  # an original drop held the first 90% of its events


def _redelivery_plan(days: int) -> set[tuple[str, int]]:
    """(source, day index) pairs delivered twice: an original, then a corrected drop."""
    return {(PLATFORM, min(1, days - 1)), ("finance", min(3, days - 1))}


def _malformed_plan(days: int) -> set[tuple[str, int]]:
    return {(PLATFORM, days - 1), ("automod", 0)}


@dataclass
class World:
    """Entity state carried from day to day."""

    users: PlatformUsers
    courses: Catalogue
    customers: dict[str, Customers]
    items: dict[str, Catalogue]
    consent: Consent
    resend: dict[str, tuple[date, pd.DataFrame]] = field(default_factory=dict)
    taste: LatentTaste | None = None  # the latent profile's hidden taste (None: default profile)


@dataclass
class PlannedFile:
    """A rendered file with its planted records, before it is written."""

    entity: str
    id_column: str
    frame: pd.DataFrame
    fmt: FileFormat
    planted: list[dict] = field(default_factory=list)
    malformed: list[tuple[int, str, str]] = field(default_factory=list)
    counts: dict = field(default_factory=dict)


def _build_world(start: date, days: int, n_users: int, seed: int, tax: Taxonomy, profile: str = DEFAULT) -> World:
    people_rng = np.random.default_rng([seed, 1000])
    users = build_platform_users(n_users, start, days, tax, people_rng)
    customers = build_customers(users, PARTNERS, start, days, tax, people_rng)
    courses = build_catalogue(
        PLATFORM,
        max(MIN_COURSES, round(n_users * COURSES_PER_USER)),
        start,
        days,
        tax,
        np.random.default_rng([seed, 1001, 0]),
    )
    items = {
        p: build_catalogue(
            p,
            max(MIN_ITEMS, round(n_users * ITEMS_PER_USER)),
            start,
            days,
            tax,
            np.random.default_rng([seed, 1001, i + 1]),
        )
        for i, p in enumerate(PARTNERS)
    }
    linked = np.zeros(len(users.user_id), dtype=bool)
    for partner_customers in customers.values():
        linked[partner_customers.platform_index[partner_customers.platform_index >= 0]] = True
    consent = plan_consent(users.user_id, linked, PARTNERS, days, seed)
    taste = None
    if profile == LATENT:  # its own random stream: the entities are those of the default profile
        taste = build_taste(
            n_users,
            {p: c.platform_index for p, c in customers.items()},
            {PLATFORM: courses.category, **{p: c.category for p, c in items.items()}},
            np.random.default_rng([seed, 2000]),
        )
    return World(users=users, courses=courses, customers=customers, items=items, consent=consent, taste=taste)


def _changes(
    first_day: np.ndarray, first_at: np.ndarray, day: int, start: date, share: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows in today's drop, their updated_at, which of them are updates of existing rows)."""
    day_start = np.datetime64(start.isoformat(), "s") + np.timedelta64(day * 86_400, "s")
    if day == 0:
        rows = np.flatnonzero(first_day == 0)
        span = (day_start + np.timedelta64(86_399, "s") - first_at[rows]).astype(np.int64)
        updated_at = first_at[rows] + (rng.random(len(rows)) * span).astype("timedelta64[s]")
        return rows, updated_at, np.zeros(len(rows), dtype=bool)
    new = np.flatnonzero(first_day == day)
    existing = np.flatnonzero(first_day < day)
    changed = np.sort(rng.choice(existing, size=rng.binomial(len(existing), share), replace=False))
    rows = np.concatenate([new, changed])
    order = np.argsort(rows, kind="stable")
    updated_at = np.concatenate(
        [first_at[new], day_start + rng.integers(0, 86_400, len(changed)).astype("timedelta64[s]")]
    )
    is_update = np.concatenate([np.zeros(len(new), bool), np.ones(len(changed), bool)])
    return rows[order], updated_at[order], is_update[order]


def _move(people: People, rows: np.ndarray, n_cities: int, rng: np.random.Generator) -> None:
    movers = rows[rng.random(len(rows)) < MOVE_SHARE]
    people.city[movers] = rng.integers(0, n_cities, len(movers))


def _reprice(cat: Catalogue, rows: np.ndarray, rng: np.random.Generator) -> None:
    cat.price_cents[rows] = np.rint(cat.price_cents[rows] * rng.uniform(0.85, 1.1, len(rows))).astype(np.int64)
    flip = rows[rng.random(len(rows)) < DEACTIVATE_SHARE]
    cat.is_active[flip] = ~cat.is_active[flip]


def _planned(entity: str, id_column: str, frame: pd.DataFrame, source: str, counts: dict) -> PlannedFile:
    frame = frame.assign(**{PLANT_COLUMN: ""})
    fmt = FileFormat(bom=source in BOM_SOURCES, gzip=(source, entity) in GZIP_FILES)
    return PlannedFile(entity, id_column, frame, fmt, counts=counts)


def _plant_record_dirt(
    file: PlannedFile,
    rules: tuple[str, ...],
    run_date: date,
    ts_suffix: str,
    min_violations: int,
    rule_offset: int,
    rng: np.random.Generator,
) -> None:
    n = max(min_violations, int(rng.binomial(len(file.frame), DIRT.violation)))
    file.frame, violations = plant_violations(
        file.frame, file.id_column, rules, n, run_date, ts_suffix, rng, rule_offset
    )
    file.planted += [{"kind": "violation", **v} for v in violations]


def _plant_duplicates(file: PlannedFile, minimum: int, rng: np.random.Generator) -> None:
    n = max(minimum, int(rng.binomial(len(file.frame), DIRT.duplicate_row)))
    file.frame, duplicates = plant_duplicates(file.frame, file.id_column, n, rng)
    file.planted += [{"kind": "duplicate", **d} for d in duplicates]


def _event_file(
    world: World,
    file: PlannedFile,
    source: str,
    day: int,
    run_date: date,
    rules: tuple[str, ...],
    malformed: bool,
    rng: np.random.Generator,
) -> PlannedFile:
    """Record-level dirt for an events/interactions file, including re-sends across days."""
    suffix = TS_SUFFIX.get(source, "")
    # a guaranteed violation every third day keeps every rule present in small samples
    _plant_record_dirt(file, rules, run_date, suffix, int(day % 3 == 0), day, rng)
    carried = world.resend.pop(source, None)
    n_resend = max(1 if day == 0 else 0, int(rng.binomial(len(file.frame), DIRT.resent_event)))
    world.resend[source] = (run_date, take_resend(file.frame, n_resend, rng))
    if carried is not None:
        file.frame, resent = insert_resent(file.frame, carried[1], file.id_column, carried[0], rng)
        file.planted += [{"kind": "resent", **r} for r in resent]
    _plant_duplicates(file, 1 if day == 0 else 0, rng)
    line = malformed_line(file.frame, file.id_column, rng) if malformed else None
    if line is not None:
        file.malformed.append(line)
    return file


def _entity_file(
    file: PlannedFile, rules: tuple[str, ...], day: int, run_date: date, source: str, rng: np.random.Generator
) -> PlannedFile:
    if len(file.frame):
        _plant_record_dirt(file, rules, run_date, TS_SUFFIX.get(source, ""), 1 if day == 0 else 0, day, rng)
        _plant_duplicates(file, 0, rng)
    return file


def _platform_drop(
    world: World, day: int, start: date, run_date: date, tax: Taxonomy, malformed: bool, rng: np.random.Generator
) -> list[PlannedFile]:
    users, courses = world.users, world.courses
    rows, updated_at, is_update = _changes(
        users.people.first_day, users.people.first_at, day, start, UPDATE_SHARE["users"], rng
    )
    _move(users.people, rows[is_update], len(tax.cities), rng)
    frame, counts = render_users(users, rows, updated_at, tax, rng)
    frame = add_share_with(world.consent, frame, rows, day)
    user_file = _entity_file(
        _planned("users", "user_id", frame, PLATFORM, counts), PERSON_RULES, day, run_date, PLATFORM, rng
    )
    rows, updated_at, is_update = _changes(
        courses.first_day, courses.first_at, day, start, UPDATE_SHARE["courses"], rng
    )
    _reprice(courses, rows[is_update], rng)
    frame, counts = render_catalogue(courses, rows, updated_at, tax, rng, "")
    course_file = _entity_file(
        _planned("courses", "course_id", frame, PLATFORM, counts), ITEM_RULES, day, run_date, PLATFORM, rng
    )
    events = _planned(
        "events", "event_id", platform_events(users, courses, day, run_date, rng, world.taste), PLATFORM, {}
    )
    event_file = _event_file(world, events, PLATFORM, day, run_date, EVENT_RULES, malformed, rng)
    deletions = deletions_frame(world.consent, users.user_id, day, run_date.isoformat())
    if deletions is None:
        return [user_file, course_file, event_file]
    return [user_file, course_file, event_file, _planned("deletions", "user_id", deletions, PLATFORM, {})]


def _partner_drop(
    world: World,
    partner: str,
    day: int,
    start: date,
    run_date: date,
    tax: Taxonomy,
    malformed: bool,
    rng: np.random.Generator,
) -> list[PlannedFile]:
    customers, items = world.customers[partner], world.items[partner]
    suffix = TS_SUFFIX.get(partner, "")
    rows, updated_at, is_update = _changes(
        customers.people.first_day, customers.people.first_at, day, start, UPDATE_SHARE["customers"], rng
    )
    _move(customers.people, rows[is_update], len(tax.cities), rng)
    frame, counts = render_customers(customers, rows, updated_at, tax, rng, suffix)
    customer_file = _entity_file(
        _planned("customers", "customer_id", frame, partner, counts), PERSON_RULES, day, run_date, partner, rng
    )
    rows, updated_at, is_update = _changes(items.first_day, items.first_at, day, start, UPDATE_SHARE["items"], rng)
    _reprice(items, rows[is_update], rng)
    frame, counts = render_catalogue(items, rows, updated_at, tax, rng, suffix)
    item_file = _entity_file(
        _planned("items", "item_id", frame, partner, counts), ITEM_RULES, day, run_date, partner, rng
    )
    interactions = _planned(
        "interactions",
        "interaction_id",
        partner_interactions(customers, items, day, run_date, rng, suffix, world.taste),
        partner,
        {},
    )
    interaction_file = _event_file(world, interactions, partner, day, run_date, INTERACTION_RULES, malformed, rng)
    return [customer_file, item_file, interaction_file]


def _write_drop(drop: Path, files: list[PlannedFile]) -> list[tuple[PlannedFile, Path, np.ndarray, list[int]]]:
    """Write every file of a drop, then the empty ``_SUCCESS`` marker last."""
    if drop.exists():
        shutil.rmtree(drop)  # a regenerated drop replaces the old one entirely
    drop.mkdir(parents=True)
    written = []
    for file in files:
        path = drop / f"{file.entity}{file.fmt.suffix}"
        starts, raw_starts = write_csv(
            path, file.frame.drop(columns=PLANT_COLUMN), file.fmt, [(pos, text) for pos, text, _ in file.malformed]
        )
        written.append((file, path, starts, raw_starts))
    (drop / "_SUCCESS").write_bytes(b"")
    return written


def _record(
    manifest: Manifest,
    out: Path,
    source: str,
    run_date: date,
    written: list[tuple[PlannedFile, Path, np.ndarray, list[int]]],
) -> None:
    """Resolve planted keys to physical lines and add everything to the manifest."""
    for file, path, starts, raw_starts in written:
        where = {
            "source": source,
            "entity": file.entity,
            "date": run_date.isoformat(),
            "file": path.relative_to(out).as_posix(),
        }
        plant = file.frame[PLANT_COLUMN].to_numpy()
        tagged = np.flatnonzero(plant != "")
        lines: dict[str, list[int]] = {}
        for position in tagged:  # planted rows only (~0.1%)
            lines.setdefault(plant[position], []).append(int(starts[position]))
        kinds = {"violation": 0, "duplicate": 0, "resent": 0}
        for record in file.planted:
            kind, key = record["kind"], record["key"]
            kinds[kind] += 1
            entry = {**where, **{k: v for k, v in record.items() if k not in ("kind", "key")}}
            if kind == "duplicate":
                manifest.duplicates.append({**entry, "lines": lines[key]})
            elif kind == "resent":
                manifest.resent.append({**entry, "line": lines[key][0]})
            else:
                manifest.violations.append({**entry, "line": lines[key][0]})
        for (_, _, record_id), line in zip(file.malformed, raw_starts):
            manifest.violations.append({**where, "line": line, "record_id": record_id, "rule": "malformed_row"})
        records = len(file.frame) + len(file.malformed)
        manifest.files.append(
            {
                **where,
                "records": records,
                "quarantined": kinds["violation"] + len(file.malformed),
                "duplicate_copies": kinds["duplicate"],
                "resent": kinds["resent"],
                "malformed": len(file.malformed),
                **file.counts,
            }
        )


def _superseded(files: list[PlannedFile]) -> list[PlannedFile]:
    """The original delivery: its events file was cut short; the correction is complete."""
    out = []
    for file in files:
        if file.entity in ("events", "interactions"):
            keep = int(len(file.frame) * SUPERSEDED_KEEP_SHARE)
            file = PlannedFile(
                file.entity,
                file.id_column,
                file.frame.iloc[:keep],
                file.fmt,
                malformed=[m for m in file.malformed if m[0] < keep],
            )
        out.append(file)
    return out


def _truth(out: Path, world: World, tax: Taxonomy) -> dict:
    """Planted topics/traits, identity links and item topics/facets as Parquet; summary figures inline."""
    topic_names = np.array([*tax.topics, ""], dtype=object)  # index -1 -> ''
    city_names = np.array([*tax.cities, ""], dtype=object)

    def persons(source: str, ids: np.ndarray, people: People, platform_user_id: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "source": source,
                "recipient_id": ids,
                "topic_1": topic_names[people.topics[:, 0]],
                "topic_2": topic_names[people.topics[:, 1]],
                "city": city_names[people.city],
                "birth_year": people.birth_year,
                "risk_tolerance": people.risk_tolerance,
                "style": FACET_VALUES[0][people.facets[:, 0]],
                "brand": FACET_VALUES[1][people.facets[:, 1]],
                "platform_user_id": platform_user_id,
            }
        )

    users = world.users
    topics = [persons(PLATFORM, users.user_id, users.people, users.user_id)]
    links, overlap = [], {}
    for partner, customers in world.customers.items():
        linked = customers.platform_index >= 0
        platform_ids = np.where(linked, users.user_id[np.maximum(customers.platform_index, 0)], None)
        topics.append(persons(partner, customers.customer_id, customers.people, platform_ids))
        links.append(
            pd.DataFrame(
                {
                    "user_id": platform_ids[linked],
                    "partner": partner,
                    "customer_id": customers.customer_id[linked],
                    "has_email_sha256": customers.email_sha256[linked] != "",
                    "has_phone_sha256": customers.phone_sha256[linked] != "",
                }
            )
        )
        overlap[partner] = {"customers": len(customers.customer_id), "linked_customers": int(linked.sum())}
    catalogues = [world.courses, *world.items.values()]
    items = pd.concat(
        [
            pd.DataFrame(
                {
                    "source": cat.source,
                    "item_id": cat.item_id,
                    "category": np.array(tax.categories[cat.source], dtype=object)[cat.category],
                    "topic": topic_names[cat.topic],
                    "city": city_names[cat.city],
                    "risk_level": cat.risk_level,
                    "facet": facet_labels(cat.facet_kind, cat.facet),
                }
            )
            for cat in catalogues
        ],
        ignore_index=True,
    )
    links = pd.concat(links, ignore_index=True)
    folder = truth_dir(out)
    return {
        "folder": folder.name,
        "tables": {
            "planted_topics": write_truth_table(folder, "planted_topics", pd.concat(topics, ignore_index=True)),
            "identity_links": write_truth_table(folder, "identity_links", links),
            "items": write_truth_table(folder, "items", items),
        },
        "topics": list(tax.topics),
        "overlap": overlap,
        "platform_users": len(users.user_id),
        "linked_platform_users": int(links["user_id"].nunique()),
        "linked_share": round(links["user_id"].nunique() / len(users.user_id), 4),
    }


def generate(out: Path, start: date, days: int, users: int, seed: int, profile: str = DEFAULT) -> Path:
    """Write ``days`` daily drops for every source under ``out``; returns the manifest path.
    ``profile`` 'latent' draws behaviour from hidden taste vectors (xrec_tools.sample.latent)."""
    if days < 1 or users < 1:
        raise ValueError(f"generate needs days >= 1 and users >= 1, got days={days}, users={users}")
    if profile not in PROFILES:
        raise ValueError(f"generate --profile must be one of {PROFILES}, not {profile!r}")
    out = Path(out)
    tax = load_taxonomy()
    world = _build_world(start, days, users, seed, tax, profile)
    manifest = Manifest(
        parameters={
            "start": start.isoformat(),
            "days": days,
            "users": users,
            "seed": seed,
            "profile": profile,
            "sources": list(SOURCES),
            "landing": out.name,
            "superseded": superseded_dir(out).name,
        },
        dirt_rates=DIRT.as_dict(),
    )
    redeliveries, malformed = _redelivery_plan(days), _malformed_plan(days)
    for day in range(days):
        run_date = start + timedelta(days=day)
        manifest.dates.append(run_date.isoformat())
        for source_no, source in enumerate(SOURCES):
            rng = np.random.default_rng([seed, source_no, day])
            has_malformed = (source, day) in malformed
            files = (
                _platform_drop(world, day, start, run_date, tax, has_malformed, rng)
                if source == PLATFORM
                else _partner_drop(world, source, day, start, run_date, tax, has_malformed, rng)
            )
            drop = Path(source) / run_date.isoformat()
            if (source, day) in redeliveries:
                original = _write_drop(superseded_dir(out) / drop, _superseded(files))
                manifest.redeliveries.append(
                    {
                        "source": source,
                        "date": run_date.isoformat(),
                        "superseded": (Path(superseded_dir(out).name) / drop).as_posix(),
                        "landing": (Path(out.name) / drop).as_posix(),
                        "records": {
                            f.entity: {
                                "superseded": len(f.frame) + len(f.malformed),
                                "landing": len(c.frame) + len(c.malformed),
                            }
                            for (f, *_), c in zip(original, files)
                        },
                        "change": "the original's events were cut short; the correction holds all of them",
                    }
                )
            _record(manifest, out, source, run_date, _write_drop(out / drop, files))
        log.info("generated drops for %s (%d of %d days)", run_date, day + 1, days)
    manifest.truth = _truth(out, world, tax)
    path = manifest.write(manifest_path(out))
    log.info(
        "sample written to %s: %d files, %d violations, %d duplicates, %d re-sent; manifest %s",
        out,
        len(manifest.files),
        len(manifest.violations),
        len(manifest.duplicates),
        len(manifest.resent),
        path,
    )
    return path
