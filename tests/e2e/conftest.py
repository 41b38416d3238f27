"""End-to-end fixtures: a small generated sample, isolated xrec folders, throw-away Postgres
databases. Everything runs through real Airflow and lands in tmp folders."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

import duckdb
import psycopg
import pytest

from xrec_tools.sample import generate

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SAMPLE_START, SAMPLE_DAYS, SAMPLE_USERS, SAMPLE_SEED = date(2026, 11, 1), 10, 1000, 11
LAST_DAY = SAMPLE_START + timedelta(days=SAMPLE_DAYS - 1)


def free_port() -> int:
    """A TCP port nothing listens on now, so no other Airflow on the machine answers our tasks."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def sample_landing(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("sample") / "landing"
    generate(landing, SAMPLE_START, SAMPLE_DAYS, SAMPLE_USERS, SAMPLE_SEED)
    return landing


@pytest.fixture
def pg_database():
    """Factory: a fresh PostgreSQL database per call, dropped after the test."""
    created = []

    def make(prefix: str = "xrec_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as con:
            con.execute(f'create database "{name}"')
        created.append(name)
        return name

    yield make
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        for name in created:
            con.execute(f'drop database if exists "{name}" with (force)')


class Deployment:
    """One isolated xrec installation (landing copy, warehouse, artifacts, Airflow home)."""

    def __init__(self, root: Path, landing: Path, serving_dsn: str | None = None):
        self.root = root
        self.landing = root / "landing"
        shutil.copytree(landing, self.landing)
        self.warehouse = root / "warehouse.duckdb"
        self.env = {
            **os.environ,
            "XREC_LANDING": str(self.landing),
            "XREC_WAREHOUSE": str(self.warehouse),
            "XREC_ARTIFACTS": str(root / "artifacts"),
            "XREC_EXPORTS": str(root / "exports"),
            "AIRFLOW_HOME": str(root / "airflow"),
            "XREC_SERVING_DSN": serving_dsn or "",
        }

    def xrec(self, *args: str) -> subprocess.CompletedProcess:
        xrec = str(Path(sys.executable).parent / "xrec")
        return subprocess.run([xrec, *args], env=self.env, capture_output=True, text=True)

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def recommendations(self, run_date: date) -> list[tuple]:
        """The published partition, every column but the wall-clock generated_at, sorted."""
        return self.query(
            """
            select * exclude (generated_at) from cross_recommendations
            where run_date = ? order by all""",
            [run_date],
        )


@pytest.fixture
def deployment(tmp_path, sample_landing):
    def make(name: str = "xrec", serving_dsn: str | None = None) -> Deployment:
        return Deployment(tmp_path / name, sample_landing, serving_dsn)

    return make
