"""The LightFM dataset: one user space (persons), one item space (courses + partner items).

Ids and feature names are mapped by `lightfm.data.Dataset`; the sparse matrices are then built
with numpy from those mappings, because the Dataset builders append one Python tuple at a time
(minutes at 5M interactions). What enters a row depends on the representation (ml.config):
- an identity feature only for persons/items seen in the training interactions: WARP samples
  an unseen item only as a negative, so its identity vector would learn "never pick me" and
  bury every new item (ml.embeddings imputes it instead), and an unseen person's identity is an
  untrained random vector; such rows are scored from their side features alone (hybrid), or
  as an average person (collaborative: no features, so an empty row, i.e. item biases);
- `features` gives persons no identity at all (today's first design: their interaction-derived
  shares summarise their history, so persons known on one side are scored like everyone else);
- only the feature families in USER_FEATURES / ITEM_FEATURES are used (constant or redundant
  ones such as source:, city_tier:, segment:, account: only dilute the others);
- rows are l2-normalised, not l1 as LightFM's builders do: with l1 a one-hot feature among
  eight weighs 1/8 on each side, so a user-item feature pair (city:x with city:x) enters the
  score at 1/64 and WARP barely learns it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.config import COLLABORATIVE, FEATURES, HYBRID
from xrec.catalog import ML_MARTS
from xrec.spans import spanned

if TYPE_CHECKING:
    from lightfm.data import Dataset

log = logging.getLogger(__name__)

# Feature families ('<family>:<value>') the model uses, of those the marts offer.
USER_FEATURES = ("city", "topic", "style", "brand", "risk")
ITEM_FEATURES = ("category", "topic", "price_band", "risk", "city", "style", "brand")


class MartDataError(ValueError):
    """The ML marts cannot be turned into a training set (names the mart and the rule)."""


@dataclass(frozen=True)
class Marts:
    """The ML marts as frames (read by xrec.steps.marts; columns in docs/interfaces.md)."""

    persons: pd.DataFrame
    recipients: pd.DataFrame
    items: pd.DataFrame
    interactions: pd.DataFrame
    person_features: pd.DataFrame
    item_features: pd.DataFrame


@dataclass
class RecDataset:
    """Id maps and feature matrices of one training run; row i of everything is person_ids[i]."""

    dataset: Dataset
    person_ids: np.ndarray  # user index -> person_id
    item_keys: np.ndarray  # item index -> item_key
    persons: pd.DataFrame  # ml_persons aligned with person_ids
    items: pd.DataFrame  # ml_items aligned with item_keys
    user_features: sp.csr_matrix
    item_features: sp.csr_matrix

    def user_index(self, person_ids: pd.Series | np.ndarray) -> np.ndarray:
        """Internal user indices of `person_ids` (-1 where unknown)."""
        return pd.Index(self.person_ids).get_indexer(pd.Index(person_ids))

    def item_index(self, item_keys: pd.Series | np.ndarray) -> np.ndarray:
        """Internal item indices of `item_keys` (-1 where unknown)."""
        return pd.Index(self.item_keys).get_indexer(pd.Index(item_keys))

    def domain(self, source: str) -> slice:
        """The contiguous item-index range of one source's items (items are sorted by source)."""
        hits = np.flatnonzero(self.items["source"].to_numpy() == source)
        if len(hits) == 0:
            return slice(0, 0)
        return slice(int(hits[0]), int(hits[-1]) + 1)

    def interaction_matrices(self, frame: pd.DataFrame) -> tuple[sp.coo_matrix, sp.coo_matrix]:
        """(interactions, weights) COO matrices for rows of ml_interactions, like
        `Dataset.build_interactions` (ones, and the float32 weights, same row/col order)."""
        rows = self.user_index(frame["person_id"])
        cols = self.item_index(frame["item_key"])
        shape = (len(self.person_ids), len(self.item_keys))
        ones = sp.coo_matrix((np.ones(len(frame), np.int32), (rows, cols)), shape=shape)
        weights = sp.coo_matrix((frame["weight"].to_numpy(np.float32), (rows, cols)), shape=shape)
        return ones, weights

    def id_maps(self) -> dict[str, list[str]]:
        """The id and feature-name spaces (what a scorer of a saved model must rebuild)."""
        user_map, user_feature_map, item_map, item_feature_map = self.dataset.mapping()
        return {
            "person_ids": list(user_map),
            "item_keys": list(item_map),
            "user_features": list(user_feature_map),
            "item_features": list(item_feature_map),
        }


def _feature_matrix(
    ids: np.ndarray, feature_map: dict, long: pd.DataFrame, id_column: str, identity: np.ndarray | None
) -> sp.csr_matrix:
    """Identity feature (where `identity`; none when None) + weighted long features, l2-normalised."""
    n = len(ids)
    index = pd.Index(ids).get_indexer(long[id_column])
    names = pd.Index(list(feature_map)).get_indexer(long["feature"])
    rows, cols, values = index, names, long["value"].to_numpy(np.float32)
    if identity is not None:
        columns = pd.Index(list(feature_map)).get_indexer(ids)
        rows = np.concatenate([np.flatnonzero(identity), rows])
        cols = np.concatenate([columns[identity], cols])
        values = np.concatenate([np.ones(int(identity.sum()), np.float32), values])
    matrix = sp.coo_matrix((values, (rows, cols)), shape=(n, len(feature_map))).tocsr()
    from sklearn.preprocessing import normalize  # loaded by build_dataset's callers only (see build_dataset)

    return normalize(matrix, norm="l2", copy=False)


def _clean_features(long: pd.DataFrame, id_column: str, known: np.ndarray, mart: str) -> pd.DataFrame:
    """Drop feature rows of unknown ids or with non-positive weights, saying how many."""
    keep = long[id_column].isin(known) & (long["value"] > 0) & long["feature"].notna()
    if not keep.all():
        log.warning(
            "marts.%s: dropped %d of %d feature rows (unknown %s or value <= 0)",
            mart,
            int((~keep).sum()),
            len(long),
            id_column,
        )
    return long[keep]


def _seen(ids: np.ndarray, seen: pd.DataFrame | None, column: str) -> np.ndarray:
    if seen is None:
        return np.ones(len(ids), bool)
    # get_indexer on the unique values: Index.isin on arrow strings walks values in Python.
    positions = pd.Index(ids).get_indexer(pd.unique(seen[column].to_numpy(object)))
    mask = np.zeros(len(ids), bool)
    mask[positions[positions >= 0]] = True
    return mask


@spanned("build_dataset")
def build_dataset(marts: Marts, seen: pd.DataFrame | None = None, representation: str = FEATURES) -> RecDataset:
    """Map persons, items and feature names; build the weighted, normalised feature matrices.

    `seen` are the training interactions (all rows of the marts when None): only their persons
    (hybrid, collaborative) and items get an identity feature; an item without any side feature
    keeps its identity in `features`/`hybrid` (an empty row cannot be normalised into anything).
    """
    person_ids = marts.persons["person_id"].astype(str).to_numpy()
    item_keys = marts.items["item_key"].astype(str).to_numpy()
    if len(set(person_ids)) != len(person_ids):
        raise MartDataError(f"{ML_MARTS['persons'].relation}: person_id is not unique (rule: unique key)")
    if len(set(item_keys)) != len(item_keys):
        raise MartDataError(f"{ML_MARTS['items'].relation}: item_key is not unique (rule: unique key)")
    person_features = _clean_features(marts.person_features, "person_id", person_ids, "ml_person_features")
    item_features = _clean_features(marts.item_features, "item_key", item_keys, "ml_item_features")
    if representation == COLLABORATIVE:
        person_features, item_features = person_features.iloc[:0], item_features.iloc[:0]
    clash = set(person_features["feature"]) & set(person_ids) or set(item_features["feature"]) & set(item_keys)
    if clash:
        raise MartDataError(f"feature names equal to ids would share an embedding: {sorted(clash)[:5]}")

    seen = marts.interactions if seen is None else seen
    person_identity = representation in (HYBRID, COLLABORATIVE)
    # lightfm.data loads scikit-learn (~1.3 s): imported here, not by the steps that only read
    # the marts' definitions (erasure, publish, the report).
    from lightfm.data import Dataset

    dataset = Dataset(user_identity_features=person_identity, item_identity_features=True)
    dataset.fit(
        users=person_ids,
        items=item_keys,
        user_features=np.sort(person_features["feature"].unique().astype(object)),
        item_features=np.sort(item_features["feature"].unique().astype(object)),
    )
    _, user_feature_map, _, item_feature_map = dataset.mapping()
    item_identity = _seen(item_keys, seen, "item_key")
    if representation != COLLABORATIVE:
        item_identity |= (
            np.bincount(pd.Index(item_keys).get_indexer(item_features["item_key"]), minlength=len(item_keys)) == 0
        )
    result = RecDataset(
        dataset=dataset,
        person_ids=person_ids,
        item_keys=item_keys,
        persons=marts.persons.reset_index(drop=True),
        items=marts.items.reset_index(drop=True),
        user_features=_feature_matrix(
            person_ids,
            user_feature_map,
            person_features,
            "person_id",
            _seen(person_ids, seen, "person_id") if person_identity else None,
        ),
        item_features=_feature_matrix(item_keys, item_feature_map, item_features, "item_key", item_identity),
    )
    log.info(
        "dataset (%s): %d users (%d features), %d items (%d features)",
        representation,
        len(person_ids),
        result.user_features.shape[1],
        len(item_keys),
        result.item_features.shape[1],
    )
    return result


def known_interactions(marts: Marts) -> pd.DataFrame:
    """ml_interactions whose person and item exist and whose weight is positive (others logged)."""
    frame = marts.interactions
    keep = (
        frame["person_id"].isin(marts.persons["person_id"])
        & frame["item_key"].isin(marts.items["item_key"])
        & (frame["weight"] > 0)
    )
    if not keep.all():
        log.warning(
            "%s: dropped %d of %d rows (unknown person/item or weight <= 0)",
            ML_MARTS["interactions"].relation,
            int((~keep).sum()),
            len(frame),
        )
    return frame[keep].reset_index(drop=True)


def data_window(interactions: pd.DataFrame, run_date: date) -> tuple[date, date]:
    """(first interaction date, run_date): the window a model was trained on."""
    return pd.Timestamp(interactions["first_at"].min()).date(), run_date
