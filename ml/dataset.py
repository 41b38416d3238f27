"""The LightFM dataset: one user space (persons), one item space (courses + partner items).

Ids and feature names are mapped by `lightfm.data.Dataset`; the sparse matrices are then built
with numpy from those mappings, because the Dataset builders append one Python tuple at a time
(minutes at 5M interactions). Choices that make the planted signals learnable (measured on the
generated sample):
- persons are represented by features only (no identity feature): their interaction-derived
  shares (topic/style/brand/risk) already summarise their history, and a person known on one
  side only is then scored on the other side exactly like everyone else;
- items keep an identity feature (their own popularity and quirks), except items with no
  training interaction: WARP samples such an item only as a negative, so its identity vector
  would learn "never pick me" and bury every new item (ml.embeddings imputes it instead);
- only the feature families in USER_FEATURES / ITEM_FEATURES are used (constant or redundant
  ones such as source:, city_tier:, segment:, account: only dilute the others; age_band: too,
  as the risk shares already carry what age says about a person's choices);
- rows are l2-normalised, not l1 as LightFM's builders do: with l1 a one-hot feature among
  eight weighs 1/8 on each side, so a user-item feature pair (city:x with city:x) enters the
  score at 1/64 and WARP barely learns it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import scipy.sparse as sp
from lightfm.data import Dataset
from sklearn.preprocessing import normalize

from xrec.config import Settings
from xrec.warehouse import connect

log = logging.getLogger(__name__)

# Feature families ('<family>:<value>') the model uses, of those the marts offer.
USER_FEATURES = ("city", "topic", "style", "brand", "risk")
ITEM_FEATURES = ("category", "topic", "price_band", "risk", "city", "style", "brand")


def _families(families: tuple[str, ...]) -> str:
    return "split_part(feature, ':', 1) in (" + ", ".join(f"'{f}'" for f in families) + ")"


# Every query is ordered: DuckDB scans in parallel, and LightFM's id maps and SGD order follow
# row order, so an unordered read would make a rerun of the same day train a different model.
MART_SQL = {
    "persons": "select person_id, city, risk_tolerance from marts.ml_persons order by person_id",
    "recipients": "select person_id, recipient_source, recipient_id from marts.ml_recipients order by all",
    "items": """select item_key, source, item_id, title, category, topic, city,
                       cast(risk_level as integer) as risk_level, is_active
                from marts.ml_items order by source = 'platform' desc, source, item_key""",
    "interactions": "select person_id, item_key, weight, first_at, last_at from marts.ml_interactions "
                    "order by person_id, item_key",
    "person_features": "select person_id, feature, value from marts.ml_person_features "
                       f"where {_families(USER_FEATURES)} order by person_id, feature",
    "item_features": f"select item_key, feature, value from marts.ml_item_features where {_families(ITEM_FEATURES)} "
                     "order by item_key, feature",
}


class MartDataError(ValueError):
    """The ML marts cannot be turned into a training set (names the mart and the rule)."""


@dataclass(frozen=True)
class Marts:
    """The ML marts as frames (the columns of MART_SQL)."""

    persons: pd.DataFrame
    recipients: pd.DataFrame
    items: pd.DataFrame
    interactions: pd.DataFrame
    person_features: pd.DataFrame
    item_features: pd.DataFrame


def load_marts(settings: Settings) -> Marts:
    """Read the ML marts from the warehouse (as built by dbt for the current run_date)."""
    with connect(settings, read_only=True) as con:
        try:
            frames = {name: con.execute(sql).df() for name, sql in MART_SQL.items()}
        except Exception as error:  # duckdb.CatalogException and friends
            raise MartDataError(
                f"cannot read the ML marts from {settings.warehouse}: {error}; run dbt build first"
            ) from error
    marts = Marts(**frames)
    for name, frame in frames.items():
        log.info("loaded marts.%s: %d rows", name, len(frame))
    if marts.persons.empty or marts.items.empty or marts.interactions.empty:
        raise MartDataError(
            "marts.ml_persons, ml_items and ml_interactions must not be empty "
            f"(rows: {len(marts.persons)}, {len(marts.items)}, {len(marts.interactions)})"
        )
    return marts


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
        """The id and feature-name spaces (what a warm start and the scorer must match)."""
        user_map, user_feature_map, item_map, item_feature_map = self.dataset.mapping()
        return {
            "person_ids": list(user_map),
            "item_keys": list(item_map),
            "user_features": list(user_feature_map),
            "item_features": list(item_feature_map),
        }


def _feature_matrix(
    ids: np.ndarray, feature_map: dict, long: pd.DataFrame, id_column: str, seen: np.ndarray | None
) -> sp.csr_matrix:
    """Identity feature (for `seen` ids; none when None) + weighted long features, l2-normalised."""
    n = len(ids)
    index = pd.Index(ids).get_indexer(long[id_column])
    names = pd.Index(list(feature_map)).get_indexer(long["feature"])
    rows, cols, values = index, names, long["value"].to_numpy(np.float32)
    if seen is not None:
        seen = seen | (np.bincount(index, minlength=n) == 0)  # an empty row cannot be normalised
        identity = pd.Index(list(feature_map)).get_indexer(ids)
        rows = np.concatenate([np.flatnonzero(seen), rows])
        cols = np.concatenate([identity[seen], cols])
        values = np.concatenate([np.ones(int(seen.sum()), np.float32), values])
    matrix = sp.coo_matrix((values, (rows, cols)), shape=(n, len(feature_map))).tocsr()
    return normalize(matrix, norm="l2", copy=False)


def _clean_features(long: pd.DataFrame, id_column: str, known: np.ndarray, mart: str) -> pd.DataFrame:
    """Drop feature rows of unknown ids or with non-positive weights, saying how many."""
    keep = long[id_column].isin(known) & (long["value"] > 0) & long["feature"].notna()
    if not keep.all():
        log.warning(
            "marts.%s: dropped %d of %d feature rows (unknown %s or value <= 0)",
            mart, int((~keep).sum()), len(long), id_column,
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


def user_feature_names(marts: Marts) -> np.ndarray:
    """The sorted person feature names of `marts` (a dataset's user feature space)."""
    return np.sort(marts.person_features["feature"].dropna().unique().astype(object))


def build_dataset(
    marts: Marts, seen: pd.DataFrame | None = None, user_vocabulary: np.ndarray | None = None
) -> RecDataset:
    """Map persons, items and feature names; build the weighted, normalised feature matrices.

    `seen` are the training interactions: only their items get an identity feature (all do
    when None), except items without any feature, which keep it. Persons have none.
    `user_vocabulary` adds person feature names to the space (e.g. those of the full marts, so
    a model trained on a split shares its id/feature spaces with the final dataset and can be
    continued on it); the item space is always every item, identity and feature.
    """
    person_ids = marts.persons["person_id"].astype(str).to_numpy()
    item_keys = marts.items["item_key"].astype(str).to_numpy()
    if len(set(person_ids)) != len(person_ids):
        raise MartDataError("marts.ml_persons: person_id is not unique (rule: unique key)")
    if len(set(item_keys)) != len(item_keys):
        raise MartDataError("marts.ml_items: item_key is not unique (rule: unique key)")
    person_features = _clean_features(marts.person_features, "person_id", person_ids, "ml_person_features")
    item_features = _clean_features(marts.item_features, "item_key", item_keys, "ml_item_features")
    clash = set(person_features["feature"]) & set(person_ids) or set(item_features["feature"]) & set(item_keys)
    if clash:
        raise MartDataError(f"feature names equal to ids would share an embedding: {sorted(clash)[:5]}")

    dataset = Dataset(user_identity_features=False, item_identity_features=True)
    dataset.fit(
        users=person_ids,
        items=item_keys,
        user_features=np.union1d(
            person_features["feature"].unique().astype(object),
            np.empty(0, object) if user_vocabulary is None else user_vocabulary,
        ),
        item_features=np.sort(item_features["feature"].unique()),
    )
    _, user_feature_map, _, item_feature_map = dataset.mapping()
    result = RecDataset(
        dataset=dataset,
        person_ids=person_ids,
        item_keys=item_keys,
        persons=marts.persons.reset_index(drop=True),
        items=marts.items.reset_index(drop=True),
        user_features=_feature_matrix(person_ids, user_feature_map, person_features, "person_id", None),
        item_features=_feature_matrix(
            item_keys, item_feature_map, item_features, "item_key", _seen(item_keys, seen, "item_key")
        ),
    )
    log.info(
        "dataset: %d users (%d features), %d items (%d features)",
        len(person_ids), result.user_features.shape[1], len(item_keys), result.item_features.shape[1],
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
            "marts.ml_interactions: dropped %d of %d rows (unknown person/item or weight <= 0)",
            int((~keep).sum()), len(frame),
        )
    return frame[keep].reset_index(drop=True)


def data_window(interactions: pd.DataFrame, run_date: date) -> tuple[date, date]:
    """(first interaction date, run_date): the window a model was trained on."""
    return pd.Timestamp(interactions["first_at"].min()).date(), run_date
