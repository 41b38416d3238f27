import numpy as np
from sklearn.preprocessing import normalize

from ml.dataset import ITEM_FEATURES, USER_FEATURES, build_dataset, known_interactions
from tests.imports import loaded
from tests.ml.conftest import make_warehouse
from xrec.steps.marts import load_marts


def test_ids_round_trip_and_match_lightfm_mapping(tmp_path):
    marts = load_marts(make_warehouse(tmp_path))
    dataset = build_dataset(marts)
    users = marts.persons["person_id"].sample(50, random_state=1)
    items = marts.items["item_key"].sample(50, random_state=1)
    assert (dataset.person_ids[dataset.user_index(users)] == users.to_numpy()).all()
    assert (dataset.item_keys[dataset.item_index(items)] == items.to_numpy()).all()
    user_map, _, item_map, _ = dataset.dataset.mapping()
    assert [user_map[p] for p in users] == list(dataset.user_index(users))
    assert [item_map[i] for i in items] == list(dataset.item_index(items))
    assert dataset.user_index(np.array(["nobody"]))[0] == -1


def test_matrices_equal_lightfm_builders_with_l2_rows(tmp_path):
    """Same cells as LightFM's builders (features: persons without identity), rows l2- not l1-normalised."""
    marts = load_marts(make_warehouse(tmp_path))
    dataset = build_dataset(marts)
    lfm = dataset.dataset
    long = marts.person_features.groupby("person_id")[["feature", "value"]].apply(
        lambda f: dict(zip(f["feature"], f["value"]))
    )
    expected = normalize(lfm.build_user_features(long.items(), normalize=False), norm="l2")
    assert np.allclose(dataset.user_features.toarray(), expected.toarray())
    assert set(dataset.id_maps()["user_features"]).isdisjoint(dataset.person_ids)
    items_long = marts.item_features.groupby("item_key")[["feature", "value"]].apply(
        lambda f: dict(zip(f["feature"], f["value"]))
    )
    expected = normalize(lfm.build_item_features(items_long.items(), normalize=False), norm="l2")
    assert np.allclose(dataset.item_features.toarray(), expected.toarray())

    interactions = known_interactions(marts)
    ones, weights = dataset.interaction_matrices(interactions)
    ref_ones, ref_weights = lfm.build_interactions(
        zip(interactions["person_id"], interactions["item_key"], interactions["weight"])
    )
    assert (ones.toarray() == ref_ones.toarray()).all()
    assert np.allclose(weights.toarray(), ref_weights.toarray())


def test_unseen_items_are_represented_by_features_only(tmp_path):
    marts = load_marts(make_warehouse(tmp_path))
    interactions = known_interactions(marts)
    seen = interactions[interactions["item_key"] != interactions["item_key"].iloc[0]]
    dataset = build_dataset(marts, seen)
    row = dataset.item_index([interactions["item_key"].iloc[0]])[0]
    identity = dataset.dataset.mapping()[3][interactions["item_key"].iloc[0]]
    assert dataset.item_features[row, identity] == 0
    assert np.isclose(np.linalg.norm(dataset.item_features[row].toarray()), 1.0)


def test_unused_feature_families_are_not_loaded(tmp_path):
    marts = load_marts(make_warehouse(tmp_path))
    families = set(marts.person_features["feature"].str.split(":").str[0])
    assert families <= set(USER_FEATURES) and "segment" not in families
    assert set(marts.item_features["feature"].str.split(":").str[0]) <= set(ITEM_FEATURES)


def test_representations_give_identity_to_seen_persons_and_features_to_cold_ones(tmp_path):
    """hybrid: a person with training history has an identity feature plus their side features,
    a cold person their features alone; collaborative: identities only; features: no identity."""
    marts = load_marts(make_warehouse(tmp_path))
    interactions = known_interactions(marts)
    cold_person = marts.persons.loc[~marts.persons["person_id"].isin(interactions["person_id"]), "person_id"].iloc[0]
    warm_person = interactions["person_id"].iloc[0]
    for representation, warm_identity, has_features in (
        ("hybrid", True, True),
        ("collaborative", True, False),
        ("features", False, True),
    ):
        dataset = build_dataset(marts, interactions, representation)
        names = np.array(dataset.id_maps()["user_features"], dtype=object)
        warm_row = dataset.user_features[dataset.user_index([warm_person])[0]].toarray().ravel()
        cold_row = dataset.user_features[dataset.user_index([cold_person])[0]].toarray().ravel()
        assert (warm_person in set(names[warm_row > 0])) == warm_identity, representation
        assert cold_person not in set(names[cold_row > 0])
        assert bool(set(names[warm_row > 0]) - {warm_person}) == has_features, representation
        if has_features:
            assert np.isclose(np.linalg.norm(warm_row), 1.0)


def test_steps_that_only_read_the_marts_do_not_load_scikit_learn():
    # Erasure, publish and the report use the marts' definitions, not the LightFM dataset:
    # lightfm.data and scikit-learn (~1.3 s of a task's start) load when a dataset is built.
    modules = ("sklearn", "lightfm.data")
    assert loaded("import xrec.privacy.erasure, xrec.publish, xrec.publish.report", *modules) == dict.fromkeys(
        modules, False
    )
    assert loaded("import xrec.steps.model", *modules) == dict.fromkeys(modules, False)
