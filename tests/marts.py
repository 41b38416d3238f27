"""The one factory for hand-built ML marts in tests: frames in, tables shaped by the dbt contracts
(dbt_project/models/marts/ml/_ml__models.yml) out, so test marts have the columns and types the
real ones have. A column the contract lacks is an error; one a frame omits is NULL of its type."""

from __future__ import annotations

from functools import cache

import duckdb
import pandas as pd
import yaml

from xrec.config import PROJECT_ROOT

ML_CONTRACTS = PROJECT_ROOT / "dbt_project" / "models" / "marts" / "ml" / "_ml__models.yml"


@cache
def contracts() -> dict[str, tuple[tuple[str, str], ...]]:
    """(column, data type) of every contracted ML mart, in contract order."""
    models = yaml.safe_load(ML_CONTRACTS.read_text())["models"]
    return {
        model["name"]: tuple((c["name"], c["data_type"]) for c in model["columns"])
        for model in models
        if model.get("config", {}).get("contract", {}).get("enforced")
    }


def write_marts(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame]) -> None:
    """(Re)create marts.<name> from each frame, cast to its contract."""
    con.execute("create schema if not exists marts")
    for name, frame in frames.items():
        columns = contracts()[name]
        unknown = set(frame.columns) - {column for column, _ in columns}
        if unknown:
            raise ValueError(f"{name}: columns {sorted(unknown)} are not in its dbt contract")
        select = ", ".join(
            f"cast({f'frame.{column}' if column in frame.columns else 'null'} as {kind}) as {column}"
            for column, kind in columns
        )
        con.register("frame", frame)
        con.execute(f"create or replace table marts.{name} as select {select} from frame")
        con.unregister("frame")
