"""Personal reasons (ml.explain) on a hand-made catalogue: what they say and which items they name."""

import json

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.explain import Explainer, _top_pairs


def _explainer() -> Explainer:
    """Items 0-2 (platform, topic 'ai', 'ai', ''), 3 (realty, topic 'ai'); features city:sh, topic:ai."""
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [1, 0]], np.float32)
    titles = ["A", "B", "C", "R"]
    topics = np.array(["ai", "ai", "", "ai"], object)
    names = np.array(["city:sh", "topic:ai"], object)
    return Explainer(
        item_vectors=vectors / np.linalg.norm(vectors, axis=1, keepdims=True),
        raw_item_vectors=vectors,
        feature_vectors=np.array([[1, 0], [0.5, 0]], np.float32),
        feature_names=names,
        named_features=np.array([True, True]),
        feature_zh=np.array(["你在sh", "你对ai感兴趣"], object),
        feature_en=np.array(["you are in sh", "you are interested in ai"], object),
        feature_json=np.array([json.dumps({"kind": "feature", "feature": n}) for n in names], object),
        source_names=pd.Index(["platform", "realty"], dtype=object),
        source_codes=np.array([0, 0, 0, 1]),
        topics=topics,
        topic_json=np.array([json.dumps({"kind": "topic", "topic": t}) for t in topics], object),
        item_json=np.array([json.dumps({"kind": "item", "item_id": t}) for t in titles], object),
        item_zh=np.array([f"《{t}》" for t in titles], object),
        city_index=pd.Index(["sh"], dtype=object),
        city_item_users=sp.csr_matrix(np.array([[5, 0, 1, 0]], np.float32)),
    )


def test_reasons_name_history_items_else_features_else_the_topic():
    explainer = _explainer()
    # person 0 had items 0 and 1 (platform); person 1 only the realty item 3; person 2 nothing
    history = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]], np.float32))
    features = sp.csr_matrix(np.array([[0, 0], [1, 0.5], [0, 0]], np.float32))
    reasons = explainer.explain(
        history,
        features,
        np.array(["sh", "sh", None], object),
        np.array([0, 1, 2]),
        np.array([3, 0, 2]),
        False,
        ("platform",),
    )
    assert reasons.text.to_pylist() == [
        "因为你关注过《A》、《B》（同一主题：ai） | because of 《A》, 《B》 in your history (same topic: ai)",
        # the realty item is not of a source this audience may know of: the features say why
        "因为你在sh、你对ai感兴趣 | because you are in sh and you are interested in ai",
        "主题： | topic: ",
    ]
    assert [json.loads(items) for items in reasons.json_strings.to_pylist()] == [
        [{"kind": "item", "item_id": "A"}, {"kind": "item", "item_id": "B"}, {"kind": "topic", "topic": "ai"}],
        [{"kind": "feature", "feature": "city:sh"}, {"kind": "feature", "feature": "topic:ai"}],
        [{"kind": "topic", "topic": ""}],
    ]
    assert list(reasons.zh) == [text.split(" | ")[0] for text in reasons.text.to_pylist()]


def test_popularity_reasons_name_the_city_where_enough_people_have_the_item():
    reasons = _explainer().explain(
        sp.csr_matrix((2, 4)),
        sp.csr_matrix((2, 2)),
        np.array(["sh", None], object),
        np.array([0, 0, 1]),
        np.array([0, 2, 0]),
        True,
        (),
    )
    assert reasons.text.to_pylist() == [
        "在sh很受欢迎 | popular with people in sh",
        "大家都在看 | popular with everyone",
        "大家都在看 | popular with everyone",
    ]
    assert reasons.json_strings.to_pylist()[0] == '[{"kind":"popular","city":"sh"}]'


def test_top_pairs_keeps_the_largest_positive_terms_ties_to_the_smaller_column():
    rng = np.random.default_rng(3)
    matrix = sp.random(60, 40, density=0.3, format="csr", random_state=4, dtype=np.float32)
    # coarse values make many exact ties
    columns = np.round(rng.normal(size=(40, 4)), 1).astype(np.float32)
    rows = rng.integers(0, 60, 500)
    targets = np.round(rng.normal(size=(500, 4)), 1).astype(np.float32)
    allowed = rng.random(40) < 0.8
    got = _top_pairs(matrix, rows, targets, columns, True, 3, allowed)
    for j, row in enumerate(rows):
        cols = matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]
        weights = matrix.data[matrix.indptr[row] : matrix.indptr[row + 1]]
        terms = np.einsum("ij,ij->i", columns[cols], np.repeat(targets[j : j + 1], len(cols), axis=0)) * weights
        ranked = sorted((-t, c) for t, c in zip(terms, cols) if t > 0 and allowed[c])
        expected = [c for _, c in ranked[:3]] + [-1] * (3 - min(3, len(ranked)))
        assert got[j].tolist() == expected


def _plain_top_pairs(matrix, rows, targets, columns, weighted, top, allowed):
    """One (candidate, column) pair at a time: what the per-person batching must equal exactly."""
    expected = np.full((len(rows), top), -1)
    for j, row in enumerate(rows):
        cols = matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]
        terms = np.einsum("ij,ij->i", columns[cols], np.repeat(targets[j : j + 1], len(cols), axis=0))
        if weighted:
            terms = terms * matrix.data[matrix.indptr[row] : matrix.indptr[row + 1]]
        ranked = sorted((-t, c) for t, c in zip(terms, cols) if t > 0 and (allowed is None or allowed[c]))
        expected[j, : min(top, len(ranked))] = [c for _, c in ranked[:top]]
    return expected


def test_top_pairs_of_a_persons_candidates_equal_the_plain_pairs_bit_for_bit():
    # Candidates come in runs of one person (k items each, some longer than a batch's run), rows
    # hold 0 to 120 columns; full-precision vectors whose terms differ in the last bits, and
    # vectors that are permutations of each other (equal terms but for the order of the sum).
    rng = np.random.default_rng(5)
    n_rows, n_columns, d = 40, 300, 64
    density = np.linspace(0, 0.4, n_rows)
    matrix = sp.csr_matrix((rng.random((n_rows, n_columns)) < density[:, None]) * rng.random((n_rows, n_columns)))
    matrix = matrix.astype(np.float32)
    columns = rng.normal(size=(n_columns, d)).astype(np.float32)
    columns[1::2] = rng.permuted(columns[::2], axis=1)[: n_columns // 2]
    rows = np.repeat(rng.integers(0, n_rows, 60), rng.integers(1, 40, 60))
    targets = rng.normal(size=(len(rows), d)).astype(np.float32)
    targets[::3] = 1.0
    allowed = rng.random(n_columns) < 0.9
    # the same rows with their columns stored in reverse order (a CSR matrix need not sort them)
    reversed_rows = matrix.copy()
    for row in range(n_rows):
        stored = slice(matrix.indptr[row], matrix.indptr[row + 1])
        reversed_rows.indices[stored], reversed_rows.data[stored] = (
            matrix.indices[stored][::-1],
            matrix.data[stored][::-1],
        )
    reversed_rows.has_sorted_indices = False
    for weighted, top, allowed_columns in ((False, 3, None), (True, 2, allowed)):
        got = _top_pairs(matrix, rows, targets, columns, weighted, top, allowed_columns)
        assert (
            got.tolist() == _top_pairs(reversed_rows, rows, targets, columns, weighted, top, allowed_columns).tolist()
        )
        assert got.tolist() == _plain_top_pairs(matrix, rows, targets, columns, weighted, top, allowed_columns).tolist()
