"""Same seed, same bytes; memory does not grow with the number of days."""

from __future__ import annotations

import tracemalloc
from datetime import date
from pathlib import Path

from xrec_tools.sample import generate


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_output(tmp_path):
    first = generate(tmp_path / "a" / "landing", date(2026, 11, 1), days=3, users=400, seed=3)
    second = generate(tmp_path / "b" / "landing", date(2026, 11, 1), days=3, users=400, seed=3)
    assert first.read_bytes() == second.read_bytes()
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    generate(tmp_path / "c" / "landing", date(2026, 11, 1), days=3, users=400, seed=4)
    assert (
        tree(tmp_path / "c")["landing/platform/2026-11-01/events.csv"]
        != tree(tmp_path / "a")["landing/platform/2026-11-01/events.csv"]
    )
    assert first.parent == tmp_path / "a" and not (tmp_path / "a" / "landing" / first.name).exists()


def test_regenerating_in_place_replaces_drops(tmp_path):
    out = tmp_path / "landing"
    generate(out, date(2026, 11, 1), days=2, users=300, seed=3)
    before = tree(tmp_path)
    (out / "platform" / "2026-11-01" / "stale.csv").write_text("x")
    generate(out, date(2026, 11, 1), days=2, users=300, seed=3)
    assert tree(tmp_path) == before


def test_tiny_samples_still_write_complete_drops(tmp_path):
    manifest = generate(tmp_path / "landing", date(2026, 11, 1), days=2, users=1, seed=1)
    assert manifest.exists()
    assert len(list((tmp_path / "landing").glob("*/*/_SUCCESS"))) == 2 * 5


def peak_bytes(tmp_path: Path, days: int) -> int:
    tracemalloc.start()
    try:
        generate(tmp_path / f"d{days}" / "landing", date(2026, 11, 1), days=days, users=300, seed=5)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_days(tmp_path):
    short, long = peak_bytes(tmp_path, 2), peak_bytes(tmp_path, 8)
    assert long < 1.3 * short, (short, long)
