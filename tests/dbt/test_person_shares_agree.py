"""The interaction-derived person features are computed twice: in SQL by dbt
(ml_person_features.sql, what the published model trains on) and in pandas by
ml.evaluate.interaction_shares (recomputed from the training split for evaluation). Given the
same interactions they must agree: here both start from dbt's own ml_interactions and
ml_item_features, so the check is not circular."""

from __future__ import annotations

import duckdb
import pandas as pd

from ml.evaluate import INTERACTION_DERIVED_FAMILIES, interaction_shares
from xrec.catalog import ML_MARTS
from xrec.config import Settings


def test_sql_and_pandas_person_shares_agree(tiny_built: Settings):
    with duckdb.connect(str(tiny_built.warehouse), read_only=True) as con:
        interactions = con.execute(f"select person_id, item_key, weight from {ML_MARTS['interactions'].relation}").df()
        item_features = con.execute(f"select item_key, feature, value from {ML_MARTS['item_features'].relation}").df()
        families = ", ".join(f"'{family}'" for family in INTERACTION_DERIVED_FAMILIES)
        sql = con.execute(
            f"select person_id, feature, value from {ML_MARTS['person_features'].relation} "
            f"where split_part(feature, ':', 1) in ({families})"
        ).df()
    pandas = interaction_shares(interactions, item_features)
    assert len(sql) > 0
    keys = ["person_id", "feature"]
    merged = sql.merge(pandas, on=keys, how="outer", suffixes=("_sql", "_pandas"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()
    pd.testing.assert_series_equal(merged["value_sql"], merged["value_pandas"], check_names=False, atol=1e-8)
