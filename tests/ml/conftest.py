"""A small synthetic warehouse (marts.ml_* with a planted topic structure) and a trained run."""

from __future__ import annotations

import os
from datetime import date

import duckdb
import numpy as np
import pytest

from xrec.config import Settings
from xrec_tools.synthetic import SyntheticSize, build_marts

RUN_DATE = date(2026, 3, 1)


def make_settings(root, **overrides) -> Settings:
    # A small grid keeps the selection quick on 1,500 persons; the grid itself is what is tested.
    return Settings.isolated(
        root, {"XREC_THREADS": "1", "XREC_TUNE_COMPONENTS": "32", "XREC_EPOCHS": "20", **overrides}
    )


def make_warehouse(root, seed: int = 0, **overrides) -> Settings:
    settings = make_settings(root, **overrides)
    with duckdb.connect(str(settings.warehouse)) as con:
        build_marts(con, RUN_DATE, SyntheticSize(), seed=seed)
    return settings


@pytest.fixture(scope="session", autouse=True)
def _no_telemetry():
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """(settings, ModelRun, rows written) of one full train+score on the synthetic warehouse."""
    from xrec.steps.model import score_candidates, train_and_evaluate

    settings = make_warehouse(tmp_path_factory.mktemp("trained"))
    run = train_and_evaluate(settings, RUN_DATE)
    rows = score_candidates(settings, RUN_DATE)
    return settings, run, rows


def candidates(settings: Settings):
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(
            "select * from main.recommendation_candidates order by direction, partner, recipient_id, rank"
        ).df()


def greedy_capped(row: np.ndarray, category: np.ndarray, k: int, cap: int) -> list[int]:
    """Reference: walk the full sort, skip a category once it has `cap`, stop at k or at -inf."""
    taken, counts = [], {}
    for j in np.argsort(-row, kind="stable"):
        if not np.isfinite(row[j]) or len(taken) == k:
            break
        if counts.get(category[j], 0) < cap:
            taken.append(j)
            counts[category[j]] = counts.get(category[j], 0) + 1
    return taken
