"""One person's representation from features and interactions, without retraining.

A LightFM user is the sum of its feature embeddings (persons have no identity feature, see
ml.dataset), so a person who signed up an hour ago, or who just interacted with new items, is
scored by rebuilding their feature row the way the marts do (stated features plus the
interaction-derived shares of ml.evaluate.interaction_shares) and folding it like ml.embeddings.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from lightfm import LightFM
from sklearn.preprocessing import normalize

from ml.dataset import RecDataset
from ml.evaluate import INTERACTION_DERIVED_FAMILIES, interaction_shares


def person_features(
    stated: pd.DataFrame, interactions: pd.DataFrame, item_features: pd.DataFrame
) -> pd.DataFrame:
    """(feature, value) rows of one person: `stated` (feature, value) rows other than the
    interaction-derived families, plus the shares derived from `interactions` (item_key, weight)."""
    family = stated["feature"].str.split(":", n=1).str[0]
    kept = stated.loc[~family.isin(INTERACTION_DERIVED_FAMILIES), ["feature", "value"]]
    shares = interaction_shares(interactions.assign(person_id="_"), item_features)
    return pd.concat([kept, shares[["feature", "value"]]], ignore_index=True)


def feature_row(dataset: RecDataset, features: pd.DataFrame) -> tuple[sp.csr_matrix, list[str]]:
    """(1 x user-feature matrix row, l2-normalised as ml.dataset builds it; names the model does
    not know, which are left out)."""
    names = pd.Index(dataset.id_maps()["user_features"])
    columns = names.get_indexer(features["feature"])
    values = features["value"].to_numpy(np.float32)
    known = (columns >= 0) & (values > 0)
    row = sp.csr_matrix((values[known], (np.zeros(int(known.sum()), np.int64), columns[known])),
                        shape=(1, len(names)))
    unknown = features.loc[~known & (values > 0), "feature"].tolist()
    return normalize(row, norm="l2", copy=False), unknown


def user_vector(model: LightFM, row: sp.csr_matrix) -> np.ndarray:
    """The (1 x d+2) user vector of ml.embeddings.Embeddings ([embedding, bias, 1]) of a feature row."""
    bias, vector = model.get_user_representations(sp.csr_matrix(row, dtype=np.float32))
    return np.hstack([vector, bias[:, None], np.ones((1, 1), np.float32)]).astype(np.float32)
