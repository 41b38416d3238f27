"""A new partner is one PARTNERS entry (its generated sources yml) + one items model + the partners
var: no other edits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from dbt.cli.main import dbtRunner

from xrec.config import Settings
from xrec_tools.partner_sources import Partner, render


def test_new_partner_joins_every_shared_model(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "dbt_project"
    shutil.copytree(settings.dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs"))
    partner_dir = project / "models" / "staging" / "travel"
    partner_dir.mkdir()
    travel = Partner("travel", "travel packages", (("destination", "Destination city."),))
    (partner_dir / "_travel__sources.yml").write_text(render(travel))
    (partner_dir / "stg_travel__items.sql").write_text(
        "with source as ({{ partner_items_source('travel') }}),\n"
        "final as ({% call latest_per(['item_id']) %}\n"
        "select {{ partner_item_columns('travel') }} from source\n"
        "{% endcall %})\n"
        "select * from final\n"
    )
    monkeypatch.setenv("XREC_WAREHOUSE", str(tmp_path / "w.duckdb"))
    result = dbtRunner().invoke(
        [
            "parse",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--vars",
            json.dumps({"run_date": "2026-03-02", "partners": ["realty", "travel"]}),
        ]
    )
    assert result.success, result.exception

    nodes = json.loads((project / "target" / "manifest.json").read_text())["nodes"]
    parents = {
        name: set(nodes[f"model.xrec.{name}"]["depends_on"]["nodes"])
        for name in ("stg_partners__customers", "stg_partners__interactions", "int_items_unified")
    }
    customer_sources = {p for p in parents["stg_partners__customers"] if p.startswith("source.")}
    assert customer_sources == {"source.xrec.travel.customers", "source.xrec.realty.customers"}
    assert "source.xrec.travel.interactions" in parents["stg_partners__interactions"]
    assert "model.xrec.stg_travel__items" in parents["int_items_unified"]
    assert "model.xrec.stg_home__items" not in parents["int_items_unified"]
