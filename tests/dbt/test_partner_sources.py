"""The per-partner dbt source files are generated (xrec_tools.partner_sources) and current."""

from __future__ import annotations

import yaml

from xrec.config import DEFAULT_PARTNERS
from xrec_tools.partner_sources import PARTNERS, path, render


def test_every_partner_sources_file_is_current():
    assert {p.name for p in PARTNERS} == set(DEFAULT_PARTNERS)
    for partner in PARTNERS:
        assert path(partner).read_text() == render(partner), (
            f"{path(partner)} is stale: run `python -m xrec_tools.partner_sources`"
        )


def test_rendered_sources_declare_the_four_entities_with_the_vertical_columns():
    finance = next(p for p in PARTNERS if p.name == "finance")
    (source,) = yaml.safe_load(render(finance))["sources"]
    tables = {t["name"]: t for t in source["tables"]}
    assert sorted(tables) == ["customers", "interactions", "items", "outcomes"]
    assert tables["items"]["identifier"] == "finance__items"
    assert "risk_level" in [c["name"] for c in tables["items"]["columns"]]
