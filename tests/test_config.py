import re
from pathlib import Path

import pytest

from xrec.config import PROJECT_ROOT, Settings, documented_variables


def test_defaults_are_the_embedded_deployment():
    settings = Settings.from_env({})
    assert settings.landing == PROJECT_ROOT / "data/landing"
    assert settings.warehouse == PROJECT_ROOT / "data/warehouse.duckdb"
    assert settings.serving_dsn is None
    assert settings.sources == ("platform", "realty", "finance", "home", "automod")


def test_environment_overrides_and_round_trips():
    settings = Settings.from_env({"XREC_PARTNERS": "realty, home", "XREC_TOP_K": "5", "XREC_LANDING": "/srv/landing"})
    assert settings.partners == ("realty", "home")
    assert settings.top_k == 5
    assert Settings.from_env(settings.env()) == settings


@pytest.mark.parametrize(
    "env", [{"XREC_RAW_GATE_POLICY": "ignore"}, {"XREC_PARTNERS": "platform"}, {"XREC_CONTROL_SHARE": "1.5"}]
)
def test_invalid_settings_are_refused_with_the_variable_named(env):
    with pytest.raises(ValueError, match=next(iter(env))):
        Settings.from_env(env)


def test_readme_documents_every_variable():
    readme = (PROJECT_ROOT / "README.md").read_text()
    for name, _default in documented_variables():
        assert re.search(rf"`{name}`", readme), f"README does not document {name}"


def test_isolated_settings_keep_every_file_under_the_root_and_reach_no_serving_database(tmp_path):
    settings = Settings.isolated(tmp_path, {"XREC_TOP_K": "3"})
    paths = [value for value in vars(settings).values() if isinstance(value, Path)]
    assert len(paths) == 6 and all(path.is_relative_to(tmp_path) for path in paths)
    assert settings.serving_dsn is None and settings.top_k == 3
