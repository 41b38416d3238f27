"""A published model on the synthetic warehouse, and `xrec serve` on it in a subprocess."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from server_helpers import RUN_DATE, build_and_publish, settings_for, start_server, stop_server

from xrec.config import Settings
from xrec_tools.synthetic import SyntheticSize, build_marts


@pytest.fixture(scope="session")
def published(tmp_path_factory) -> Settings:
    """Synthetic marts, trained, scored and published once per session."""
    root = tmp_path_factory.mktemp("serve")
    settings = settings_for(root)
    with duckdb.connect(str(settings.warehouse)) as con:
        build_marts(con, RUN_DATE, SyntheticSize(), seed=0)
    build_and_publish(settings, RUN_DATE)
    return settings


@pytest.fixture(scope="module")
def server(published, tmp_path_factory):
    root = tmp_path_factory.mktemp("server")
    running = start_server(published, root)
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def copy_of_published(published, tmp_path_factory) -> Settings:
    """A private copy of the published warehouse and artifacts (for tests that publish again)."""
    root = tmp_path_factory.mktemp("serve-copy")
    shutil.copy(published.warehouse, root / "warehouse.duckdb")
    shutil.copytree(published.artifacts, root / "artifacts")
    settings = settings_for(root)
    pointer = settings.artifacts / "serving" / "current.json"
    assert pointer.exists()
    return settings
