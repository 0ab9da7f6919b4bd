"""The grouped TreeSHAP must equal LightGBM's own pred_contrib, edge cases included."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from segment_and_predict.ml.propensity import treeshap
from segment_and_predict.ml.propensity.treeshap import (
    GroupedTreeShap,
    exact_contributions,
    numeric_matrix,
)


def _thresholds(booster: lgb.Booster) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    stack = [t["tree_structure"] for t in booster.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            if node["decision_type"] == "<=":
                out.setdefault(int(node["split_feature"]), []).append(float(node["threshold"]))
            stack.extend((node["left_child"], node["right_child"]))
    return out


def _training_data(seed: int = 0, n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "count": rng.poisson(1.0, n).astype("float64"),
            "signed": rng.normal(0, 1, n),
            "spend": rng.gamma(2.0, 30.0, n),
            "channel": pd.Categorical(rng.choice(["a", "b", "c", "d", "e"], n)),
        }
    )
    frame.loc[rng.random(n) < 0.2, "spend"] = np.nan
    frame.loc[rng.random(n) < 0.1, "count"] = 0.0
    frame.loc[rng.random(n) < 0.1, "channel"] = np.nan
    return frame


def _label(frame: pd.DataFrame, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logit = (
        0.8 * frame["count"].fillna(0)
        - 0.5 * frame["signed"]
        + 0.01 * frame["spend"].fillna(-50)
        + frame["channel"].cat.codes.isin([1, 3])
        - 1.5
    )
    return (rng.random(len(frame)) < 1 / (1 + np.exp(-logit))).astype(int)


PARAM_SETS = {
    "nan_missing": {},
    "zero_as_missing": {"zero_as_missing": True},
    "no_missing_handling": {"use_missing": False},
    "deep_trees": {"num_leaves": 63, "max_depth": -1, "min_data_in_leaf": 5},
}


def _booster_and_edge_rows(name: str) -> tuple[lgb.Booster, np.ndarray]:
    train = _training_data()
    params = {
        "objective": "binary",
        "verbose": -1,
        "num_leaves": 15,
        "max_depth": 4,
        "learning_rate": 0.2,
        "min_data_in_leaf": 20,
        "deterministic": True,
        "num_threads": 1,
        **PARAM_SETS[name],
    }
    booster = lgb.train(params, lgb.Dataset(train, label=_label(train)), num_boost_round=40)

    rows = _training_data(seed=5, n=3000)
    matrix = numeric_matrix(rows)
    # Values exactly at, just below and just above every threshold, zero, tiny
    # values LightGBM counts as zero, negatives and unseen or negative categories
    # (1000: a code above every code a split names).
    extra = []
    for feature, thresholds in _thresholds(booster).items():
        for t in thresholds:
            for value in (t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf)):
                row = matrix[len(extra) % len(matrix)].copy()
                row[feature] = value
                extra.append(row)
    for value in (0.0, -0.0, 1e-40, -1e-40, -3.0, np.nan, 7.0, 2.5, -1.0, 1000.0, np.inf, -np.inf):
        for feature in range(matrix.shape[1]):
            row = matrix[len(extra) % len(matrix)].copy()
            row[feature] = value
            extra.append(row)
    return booster, np.vstack([matrix, np.array(extra)])


@pytest.mark.parametrize("name", sorted(PARAM_SETS))
def test_equals_lightgbm_pred_contrib_on_edge_values(name):
    booster, matrix = _booster_and_edge_rows(name)
    expected = booster.predict(matrix, pred_contrib=True)
    got = exact_contributions(booster, matrix)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)
    # Rows still sum to the raw score.
    np.testing.assert_allclose(got.sum(axis=1), booster.predict(matrix, raw_score=True), atol=1e-10)


@pytest.mark.parametrize("name", sorted(PARAM_SETS))
def test_raw_score_and_probability_are_lightgbm_bit_for_bit(name):
    booster, matrix = _booster_and_edge_rows(name)
    explainer = GroupedTreeShap(booster)
    _, raw = explainer.explain(matrix)
    assert np.array_equal(raw, booster.predict(matrix, raw_score=True))
    assert np.array_equal(explainer.probability(raw), booster.predict(matrix))


@pytest.mark.parametrize("name", ["nan_missing", "deep_trees"])
def test_chunks_threads_and_renumbered_keys_give_the_same_values(name, monkeypatch):
    """Many row chunks, worker threads, and keys renumbered on the way (the path
    for trees with more key combinations than a dense table holds) change nothing."""
    booster, matrix = _booster_and_edge_rows(name)
    contributions, raw = GroupedTreeShap(booster).explain(matrix)
    monkeypatch.setattr(treeshap, "_CHUNK_ROWS", 257)
    monkeypatch.setattr(treeshap, "_DENSE_KEYS", 2**6)
    monkeypatch.setattr(treeshap, "_MAX_KEY", 2**8)
    explainer = GroupedTreeShap(booster)
    assert any(tree.tables is None for tree in explainer.trees)
    chunked, chunked_raw = explainer.explain(matrix)
    np.testing.assert_allclose(chunked, contributions, rtol=0, atol=1e-12)
    assert np.array_equal(chunked_raw, raw)
    # Worker threads share out chunks and trees; each row's sums keep their order.
    for num_threads in (2, 3):
        threaded, threaded_raw = explainer.explain(matrix, num_threads=num_threads)
        assert np.array_equal(threaded, chunked) and np.array_equal(threaded_raw, chunked_raw)


def test_explainer_is_reusable_across_blocks():
    """A later block takes the values of groups met in earlier blocks from the
    explainer instead of LightGBM; the result must be that of a fresh explainer."""
    booster, matrix = _booster_and_edge_rows("nan_missing")
    explainer = GroupedTreeShap(booster)
    first, first_raw = explainer.explain(matrix[:1000])
    second, second_raw = explainer.explain(matrix[1000:])
    whole, raw = GroupedTreeShap(booster).explain(matrix)
    assert np.array_equal(np.vstack([first, second]), whole)
    assert np.array_equal(np.concatenate([first_raw, second_raw]), raw)
    with pytest.raises(ValueError, match="features"):
        explainer.explain(matrix[:, :-1])


def test_probability_is_none_for_other_objectives():
    frame = _training_data(n=500)
    booster = lgb.train(
        {"objective": "regression", "verbose": -1, "num_threads": 1},
        lgb.Dataset(frame, label=_label(frame).astype(float)),
        num_boost_round=3,
    )
    assert GroupedTreeShap(booster).probability(np.zeros(3)) is None


def test_numeric_matrix_matches_lightgbm_on_categoricals():
    frame = _training_data(n=500)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_threads": 1},
        lgb.Dataset(frame, label=_label(frame)),
        num_boost_round=5,
    )
    assert np.array_equal(booster.predict(numeric_matrix(frame)), booster.predict(frame))


def test_empty_input_and_single_leaf_trees():
    frame = _training_data(n=200)
    # Constant label pieces: min_data_in_leaf larger than the data gives stumps.
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "min_data_in_leaf": 1000, "num_threads": 1},
        lgb.Dataset(frame, label=_label(frame)),
        num_boost_round=3,
    )
    matrix = numeric_matrix(frame)
    np.testing.assert_allclose(
        exact_contributions(booster, matrix), booster.predict(matrix, pred_contrib=True), atol=1e-12
    )
    assert exact_contributions(booster, matrix[:0]).shape == (0, matrix.shape[1] + 1)
