import numpy as np
import scipy.sparse as sp
from lightfm.evaluation import auc_score

from ml.dataset import build_dataset, known_interactions
from ml.embeddings import model_embeddings
from ml.evaluate import _per_row, split_interactions, training_marts
from tests.ml.conftest import RUN_DATE
from xrec.steps.marts import load_marts
from xrec.steps.registry import load_artifact


def test_split_is_disjoint_time_based_and_hides_cohort_partner_history(trained):
    settings, _, _ = trained
    marts = load_marts(settings)
    interactions = known_interactions(marts)
    both = split_interactions(interactions, marts.items, RUN_DATE, settings.holdout_days)
    validation, split = both.validation, both.test
    assert len(split.train) + len(split.holdout) + len(both.test.cross_domain) + len(validation.cross_domain) == len(
        interactions
    )
    assert len(validation.train) + len(validation.holdout) == len(split.train)
    window = np.timedelta64(settings.holdout_days, "D")
    assert split.holdout["first_at"].min() >= split.train["first_at"].max() - window
    assert validation.holdout["first_at"].max() < split.holdout["first_at"].min()
    cohorts = [s.cross_domain["person_id"].unique() for s in (validation, split)]
    # outside the cohorts (whose platform history is all training), training precedes the window
    others = validation.train[~validation.train["person_id"].isin(np.concatenate(cohorts))]
    assert others["first_at"].max() < validation.holdout["first_at"].min()
    assert all(len(c) > 0 for c in cohorts) and not set(cohorts[0]) & set(cohorts[1])
    assert not split.cross_domain["item_key"].str.startswith("platform:").any()
    partner_train = split.train[~split.train["item_key"].str.startswith("platform:")]
    assert not partner_train["person_id"].isin(np.concatenate(cohorts)).any()
    # the interaction-derived topic features come from the training split only
    features = training_marts(marts, split.train).person_features
    assert (
        not features[features["feature"].str.startswith("topic:")]["person_id"]
        .isin(set(interactions["person_id"]) - set(split.train["person_id"]))
        .any()
    )


def test_auc_agrees_with_lightfm_evaluation(trained):
    settings, run, _ = trained
    marts = load_marts(settings)
    interactions = known_interactions(marts)
    dataset = build_dataset(marts, interactions, run.config.representation)
    model, _ = load_artifact(run.artifact_path)
    first = interactions.drop_duplicates("person_id").iloc[:300]  # one test positive per user
    train_frame = interactions.drop(first.index)
    train = dataset.interaction_matrices(train_frame)[0].tocsr()
    test = dataset.interaction_matrices(first)[0].tocsr()
    rows = np.flatnonzero(test.getnnz(axis=1))
    everything = slice(0, len(dataset.item_keys))
    category = np.zeros(len(dataset.item_keys), int)
    ours = _per_row(model_embeddings(model, dataset), train, test, rows, everything, 10, category, threads=2)["auc"]
    theirs = auc_score(
        model,
        sp.csr_matrix(test, dtype=np.float32),
        sp.csr_matrix(train, dtype=np.float32),
        user_features=dataset.user_features,
        item_features=dataset.item_features,
    )
    assert np.allclose(ours, theirs, atol=0.01)


def test_cold_items_get_the_mean_identity_of_their_catalogue(trained):
    """Warm items score exactly as LightFM.predict; a cold item is lifted by its catalogue's mean
    identity term, so it is not buried under every warm item."""
    settings, run, _ = trained
    marts = load_marts(settings)
    interactions = known_interactions(marts)
    cold_key = interactions["item_key"].iloc[0]
    dataset = build_dataset(marts, interactions[interactions["item_key"] != cold_key], run.config.representation)
    model, _ = load_artifact(run.artifact_path)
    embeddings = model_embeddings(model, dataset)
    user = np.array([0])
    predicted = model.predict(
        0, np.arange(len(dataset.item_keys)), user_features=dataset.user_features, item_features=dataset.item_features
    )
    ours = embeddings.score_block(user, slice(0, len(dataset.item_keys)))[0]
    cold = dataset.item_index([cold_key])[0]
    warm = dataset.item_index(interactions.loc[interactions["item_key"] != cold_key, "item_key"].unique())
    assert np.allclose(ours[warm], predicted[warm], atol=1e-4)
    assert not np.isclose(ours[cold], predicted[cold], atol=1e-4)


def test_cross_domain_cohort_keeps_all_platform_behaviour_for_training(trained):
    settings, _, _ = trained
    marts = load_marts(settings)
    interactions = known_interactions(marts)
    split = split_interactions(interactions, marts.items, RUN_DATE, settings.holdout_days).test
    cohort = split.cross_domain["person_id"].unique()
    platform = interactions[interactions["item_key"].str.startswith("platform:")]
    cohort_platform = platform[platform["person_id"].isin(cohort)]
    assert len(cohort_platform) and cohort_platform["item_key"].isin(split.train["item_key"]).all()
    assert not split.holdout["person_id"].isin(cohort).any()
