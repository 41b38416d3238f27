import numpy as np

from ml.config import ModelConfig
from ml.dataset import build_dataset, known_interactions
from ml.train import train_model
from tests.ml.conftest import make_warehouse
from xrec.config import PLATFORM
from xrec.steps.marts import load_marts


def test_negatives_come_from_the_positives_catalogue(tmp_path):
    """Trained on platform interactions only, no partner item is ever a WARP negative: their
    identity biases stay at LightFM's initial zero (fitted over the whole item space at once,
    platform-only persons pushed the popular partner items down)."""
    marts = load_marts(make_warehouse(tmp_path))
    interactions = known_interactions(marts)
    dataset = build_dataset(marts, interactions, "collaborative")  # every item has an identity
    platform_rows = interactions[interactions["item_key"].isin(dataset.item_keys[dataset.domain(PLATFORM)])]
    model = train_model(ModelConfig(representation="collaborative", components=8, epochs=2), dataset, platform_rows)
    identity = np.array(dataset.id_maps()["item_features"], dtype=object)
    column = {name: i for i, name in enumerate(identity)}
    partner = [column[key] for key, source in zip(dataset.item_keys, dataset.items["source"]) if source != PLATFORM]
    platform = [column[key] for key in dataset.item_keys[dataset.domain(PLATFORM)]]
    assert len(partner) and np.all(model.item_biases[partner] == 0)
    assert np.any(model.item_biases[platform] != 0)
