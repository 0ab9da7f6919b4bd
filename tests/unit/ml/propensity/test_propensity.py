"""Tests for the purchase-propensity model code (segment_and_predict.ml.propensity).

All tests run on a small synthetic customer_features frame built here, so the
file stays fast (a handful of LightGBM fits on a few thousand rows).
"""

from __future__ import annotations

import json
from datetime import date

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.metrics import f1_score
from synthetic_features import THREADS, make_features

from segment_and_predict.ml.propensity import (
    DEFAULT_PARAMS,
    LABEL,
    SCORE_COLUMNS,
    BgNbdBaseline,
    FeatureEncoder,
    LogisticRegressionBaseline,
    PropensityModel,
    RecencyFrequencyRule,
    best_f1_threshold,
    explain,
    passes_quality_gate,
    rank_percentile_and_decile,
    score_blocks,
    score_customers,
    split_snapshots,
    train_propensity_model,
)
from segment_and_predict.ml.propensity.baselines import MedianImputer, fit_sample
from segment_and_predict.ml.propensity.training import PARAM_GRID


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return make_features()


@pytest.fixture(scope="module")
def trained(features):
    return train_propensity_model(features, num_threads=THREADS)


@pytest.fixture(scope="module")
def scores(features, trained):
    latest = features[features["as_of_date"] == features["as_of_date"].max()]
    return score_customers(latest, trained.model, trained.registry_row["model_id"])


# -- training and the registry row ---------------------------------------------


def test_model_learns_signal_and_beats_baselines(trained):
    row = trained.registry_row
    assert row["roc_auc"] > 0.75
    assert row["roc_auc"] > row["rule_roc_auc"]
    assert 0.0 < row["threshold"] < 1.0
    assert row["best_iteration"] >= 1
    assert row["n_train"] == 6000 and row["n_validation"] == 3000 and row["n_test"] == 3000
    assert json.loads(row["train_as_of_dates"]) == ["2024-01-01", "2024-01-31"]
    assert row["validation_as_of_date"] == "2024-03-01"
    assert row["test_as_of_date"] == "2024-03-31"


def test_registry_row_is_flat_and_json_serialisable(trained):
    row = trained.registry_row
    expected = {
        "model_id", "trained_at", "train_as_of_dates", "validation_as_of_date",
        "test_as_of_date", "n_train", "n_validation", "n_test", "params_json",
        "features_json", "dropped_features_json", "library_versions_json", "model_json",
        "threshold", "roc_auc", "pr_auc", "f1", "precision", "recall", "brier", "log_loss",
        "top_decile_lift", "baseline_metrics_json", "logreg_roc_auc", "logreg_pr_auc",
        "logreg_f1", "rule_roc_auc", "rule_pr_auc", "rule_f1", "best_iteration",
        "passed_quality_gate", "gate_json", "gains_json", "calibration_json",
        "feature_importance_json", "curves_json", "bgnbd_roc_auc", "bgnbd_pr_auc",
        "bgnbd_f1", "model_choice_json",
    }  # fmt: skip
    assert expected <= set(row)
    assert row["model_id"].startswith("prop_")
    assert row["trained_at"].tzinfo is not None
    for key, value in row.items():
        if key == "trained_at":
            continue
        json.dumps(value, allow_nan=False)  # scalars only, no NaN
        if key.endswith("_json") or key == "train_as_of_dates":
            json.loads(value)
    baselines = json.loads(row["baseline_metrics_json"])
    assert set(baselines) == {"logistic_regression", "recency_frequency_rule", "bgnbd"}
    assert baselines["logistic_regression"]["roc_auc"] == row["logreg_roc_auc"]
    params = json.loads(row["params_json"])
    assert params["num_threads"] == THREADS and params["deterministic"] and params["force_row_wise"]


def test_default_params_are_reproducible_and_overridable():
    params = PropensityModel(params={"learning_rate": 0.1, "num_threads": 8}).resolved_params()
    assert params["learning_rate"] == 0.1  # the override
    assert params["num_leaves"] == DEFAULT_PARAMS["num_leaves"]  # the default kept
    # The explicit argument (default 2) wins over a thread count inside params.
    assert params["num_threads"] == 2 and params["seed"] == 42
    assert params["deterministic"] is True and params["force_row_wise"] is True
    # params copied from a model trained column-wise (LightGBM refuses both)
    copied = PropensityModel(params={"force_col_wise": True}).resolved_params()
    assert "force_col_wise" not in copied and copied["force_row_wise"] is True


def test_row_wise_histograms_grow_the_same_trees_as_column_wise(features):
    split = split_snapshots(features)
    encoder = FeatureEncoder().fit(split.train)
    X, y = encoder.transform(split.train), split.train[LABEL].astype(float).to_numpy()
    trees = []
    for layout in ("force_row_wise", "force_col_wise"):
        params = PropensityModel(num_threads=THREADS).resolved_params()
        params = {
            k: v for k, v in params.items() if k not in ("num_boost_round", "early_stopping_rounds")
        }
        params.pop("force_row_wise")
        params[layout] = True
        booster = lgb.train(params, lgb.Dataset(X, label=y, params=params), num_boost_round=30)
        trees.append(booster.model_to_string().split("parameters:")[0])
    assert trees[0] == trees[1]


def test_evaluation_tables(trained):
    row = trained.registry_row
    gains = json.loads(row["gains_json"])
    assert [g["decile"] for g in gains] == list(range(1, 11))
    assert sum(g["customers"] for g in gains) == row["n_test"]
    assert gains[-1]["cumulative_share_of_buyers"] == pytest.approx(1.0)
    assert gains[0]["lift"] == pytest.approx(row["top_decile_lift"])
    assert gains[0]["positive_rate"] > gains[-1]["positive_rate"]

    calibration = json.loads(row["calibration_json"])
    assert sum(b["count"] for b in calibration) == row["n_test"]
    assert all(0 <= b["observed_rate"] <= 1 for b in calibration)

    importance = json.loads(row["feature_importance_json"])
    assert {r["feature"] for r in importance} == set(json.loads(row["features_json"]))
    # one driver ranking: by mean |SHAP|, the report's and the reasons' measure
    assert [r["rank"] for r in importance] == list(range(1, len(importance) + 1))
    shap_order = [r["mean_abs_shap"] for r in importance]
    assert shap_order == sorted(shap_order, reverse=True)
    assert all(r["mean_abs_shap"] >= 0 for r in importance)
    # direction: the label rises with email opens and falls with days since the last order
    by_name = {r["feature"]: r for r in importance}
    assert by_name["email_open_rate_90d"]["value_shap_correlation"] > 0.5
    assert by_name["days_since_last_order"]["value_shap_correlation"] < -0.5
    assert by_name["region"]["value_shap_correlation"] is None  # a category has no direction

    curves = pd.DataFrame(json.loads(row["curves_json"]))
    counts = curves.groupby(["model", "curve"]).size()
    assert set(curves["model"]) == {
        "lightgbm",
        "logistic_regression",
        "recency_frequency_rule",
        "bgnbd",
    }
    assert len(counts) == 8 and counts.max() <= 200

    preds = trained.test_predictions
    assert len(preds) == row["n_test"]
    assert (preds["propensity"] >= row["threshold"]).eq(preds["is_predicted_buyer"]).all()


def test_shuffled_labels_fail_the_gate(features):
    shuffled = features.copy()
    labelled = shuffled[LABEL].notna().to_numpy()
    rng = np.random.default_rng(1)
    shuffled.loc[labelled, LABEL] = rng.permutation(shuffled.loc[labelled, LABEL].to_numpy())
    row = train_propensity_model(shuffled, num_threads=THREADS).registry_row
    assert row["roc_auc"] < 0.6
    assert row["passed_quality_gate"] is False


def test_gate_requires_thresholds_and_beating_baselines(features, trained):
    row = trained.registry_row
    assert row["roc_auc"] > row["logreg_roc_auc"] and row["pr_auc"] > row["logreg_pr_auc"]
    assert row["passed_quality_gate"] is True

    metrics = {"roc_auc": 0.85, "pr_auc": 0.6, "f1": 0.6, "brier": 0.2}
    weaker = {"rule": {"roc_auc": 0.8, "pr_auc": 0.5}}
    assert passes_quality_gate(metrics, weaker, {"roc_auc": 0.82, "brier": 0.25})
    assert not passes_quality_gate(metrics, weaker, {"roc_auc": 0.9})
    assert not passes_quality_gate(metrics, weaker, {"brier": 0.1})  # lower is better
    stronger = {**weaker, "logreg": {"roc_auc": 0.84, "pr_auc": 0.61}}
    assert not passes_quality_gate(metrics, stronger, {"roc_auc": 0.82})
    with pytest.raises(ValueError, match="unknown gate metric"):
        train_propensity_model(features, gate={"accuracy": 0.9}, num_threads=THREADS)


# -- out-of-time validation ----------------------------------------------------


def test_threshold_maximises_f1_on_validation(features, trained):
    split = split_snapshots(features)
    y_val = split.validation[LABEL].astype(bool).to_numpy()
    p_val = trained.model.predict_probability(split.validation)
    best = max(_f1(y_val, p_val >= t) for t in np.unique(p_val))
    assert _f1(y_val, p_val >= trained.model.threshold_) == pytest.approx(best, abs=1e-12)
    assert f1_score(y_val, p_val >= trained.model.threshold_) == pytest.approx(best)


def _f1(y: np.ndarray, flag: np.ndarray) -> float:
    """F1 by brute force (numpy; sklearn's f1_score is slow over thousands of thresholds)."""
    tp = np.sum(flag & y)
    return 2 * tp / (flag.sum() + y.sum())


def test_best_f1_threshold_matches_brute_force_with_ties():
    rng = np.random.default_rng(3)
    for _ in range(20):
        y = rng.random(200) < 0.3
        scores = np.round(rng.random(200) * 0.5 + 0.5 * y * rng.random(200), 2)  # many ties
        threshold = best_f1_threshold(y, scores)
        best = max(_f1(y, scores >= t) for t in np.unique(scores))
        assert _f1(y, scores >= threshold) == pytest.approx(best, abs=1e-12)
    with pytest.raises(ValueError, match="no positives"):
        best_f1_threshold(np.zeros(5), np.linspace(0, 1, 5))


def test_test_snapshot_never_enters_fit_or_threshold(features, trained, monkeypatch):
    """Scrambling test features and flipping test labels leaves the model unchanged."""
    test_rows = (features["as_of_date"] == date(2024, 3, 31)).to_numpy()
    changed = features.copy()
    rng = np.random.default_rng(7)
    for column in ["orders_90d", "days_since_last_order", "region", "email_open_rate_90d"]:
        changed.loc[test_rows, column] = rng.permutation(changed.loc[test_rows, column].to_numpy())
    changed.loc[test_rows, "region"] = "never_seen_region"
    changed.loc[test_rows, LABEL] = ~changed.loc[test_rows, LABEL].astype(bool)

    seen_rows = []
    real_train = lgb.train

    def spy(params, train_set, *args, **kwargs):
        booster = real_train(params, train_set, *args, **kwargs)
        seen_rows.append(
            (train_set.num_data(), [v.num_data() for v in kwargs.get("valid_sets", [])])
        )
        return booster

    monkeypatch.setattr(lgb, "train", spy)
    result = train_propensity_model(changed, num_threads=THREADS)
    # each candidate of the grid: train snapshots, then validation only; then,
    # with params, trees and threshold chosen, the refit that is served grows the
    # same number of trees on all rows
    assert seen_rows == [(6000, [3000])] * len(PARAM_GRID) + [(12000, [])]

    model, reference = result.model, trained.model
    assert model.booster_.model_to_string() == reference.booster_.model_to_string()
    assert model.threshold_ == reference.threshold_
    assert model.encoder_.categorical_levels_ == reference.encoder_.categorical_levels_
    assert result.registry_row["roc_auc"] != trained.registry_row["roc_auc"]


def test_split_accepts_datetime_as_of_date():
    frame = make_features(n_customers=50)
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"])
    split = split_snapshots(frame)
    assert [str(d.date()) for d in split.train_dates] == ["2024-01-01", "2024-01-31"]
    assert str(split.test_date.date()) == "2024-03-31"
    assert len(split.train) == 100 and len(split.validation) == len(split.test) == 50
    assert split.test[LABEL].notna().all()


@pytest.mark.parametrize("n_labelled", [1, 2])
def test_fewer_than_three_labelled_snapshots_raises(n_labelled):
    frame = make_features(n_customers=200, n_snapshots=n_labelled + 1, n_unlabelled=1)
    with pytest.raises(ValueError, match=rf"found {n_labelled} labelled snapshot.*at least 3"):
        train_propensity_model(frame)


def test_input_errors_are_plain(features):
    small = make_features(n_customers=300)
    with pytest.raises(ValueError, match="missing required column"):
        train_propensity_model(small.drop(columns=["as_of_date"]))
    with pytest.raises(ValueError, match="missing required column"):
        train_propensity_model(small.drop(columns=[LABEL]))
    unlabelled = small.assign(**{LABEL: pd.array([None] * len(small), dtype="boolean")})
    with pytest.raises(ValueError, match="no labelled rows"):
        train_propensity_model(unlabelled)
    one_class = small.copy()
    one_class.loc[one_class[LABEL].notna(), LABEL] = False
    with pytest.raises(ValueError, match="single class"):
        train_propensity_model(one_class)
    with pytest.raises(ValueError, match="duplicated"):
        train_propensity_model(pd.concat([small, small.iloc[:1]]))


# -- features --------------------------------------------------------------------


def test_all_null_and_constant_features_are_dropped_and_recorded(trained):
    row = trained.registry_row
    used = json.loads(row["features_json"])
    dropped = {d["feature"]: d["reason"] for d in json.loads(row["dropped_features_json"])}
    assert dropped["push_click_rate_90d"] == "all null in training rows"
    assert dropped["returns_90d"] == "constant in training rows"
    assert "push_click_rate_90d" not in used and "returns_90d" not in used
    assert {"customer_id", "as_of_date", LABEL}.isdisjoint(used)
    assert "loyalty_tier" in used and "is_email_subscribed" in used
    assert trained.model.features_ == used


def test_encoder_types_exclusions_and_informative_missingness():
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "as_of_date": [date(2024, 1, 1)] * 3,
            LABEL: [True, False, None],
            "flag": pd.array([True, None, False], dtype="boolean"),
            "tier": pd.array(["gold", None, "gold"], dtype="str"),  # one level + null: kept
            "rate": [0.5, np.nan, 0.5],  # one value + null: kept
            "constant_text": pd.array(["x", "x", "x"], dtype="str"),
            "signed_up_at": pd.to_datetime(["2023-01-01"] * 3),
            "secret": [1.0, 2.0, 3.0],
        }
    )
    encoder = FeatureEncoder(exclude=["secret"]).fit(frame)
    assert encoder.features_ == ["flag", "tier", "rate"]
    assert encoder.dropped_features_["secret"] == "excluded"
    assert encoder.dropped_features_["constant_text"] == "constant in training rows"
    assert encoder.dropped_features_["signed_up_at"].startswith("unsupported dtype")
    X = encoder.transform(frame.assign(tier=pd.array(["silver", "gold", None], dtype="str")))
    assert X["flag"].tolist()[::2] == [1.0, 0.0] and np.isnan(X["flag"].iloc[1])
    assert list(X["tier"].cat.categories) == ["gold"]
    assert X["tier"].isna().tolist() == [True, False, True]  # unseen level -> missing
    with pytest.raises(ValueError, match="lacks column"):
        encoder.transform(frame.drop(columns=["rate"]))


def test_encoder_codes_arrow_strings_like_python_strings(features, trained):
    """Arrow-backed string columns (what DuckDB returns) are coded by Arrow; the
    result must equal coding the same values as Python objects."""
    rows = features.head(1000).copy()
    levels = trained.model.encoder_.categorical_levels_
    region = rows["region"].astype(object).to_numpy().copy()
    region[::7] = "atlantis"  # unseen
    region[::11] = None
    rows["region"] = pd.array(region, dtype="str")
    as_objects = rows.assign(**{name: rows[name].astype(object) for name in levels})
    encoded = trained.model.encoder_.transform(rows)
    pd.testing.assert_frame_equal(encoded, trained.model.encoder_.transform(as_objects))
    assert encoded["region"].isna().sum() >= len(rows) // 7


def test_unseen_category_scores_like_null_category(features, trained):
    rows = features[features["as_of_date"] == features["as_of_date"].max()].head(500)
    unseen = rows.assign(region="atlantis", loyalty_tier="diamond")
    null = rows.assign(
        region=pd.array([None] * len(rows), dtype="str"),
        loyalty_tier=pd.array([None] * len(rows), dtype="str"),
    )
    p_unseen = trained.model.predict_probability(unseen)
    p_null = trained.model.predict_probability(null)
    assert np.isfinite(p_unseen).all()
    assert np.array_equal(p_unseen, p_null)
    scored = score_customers(unseen, trained.model, "m")
    assert np.array_equal(scored["propensity"].to_numpy(), p_null)


# -- persistence -----------------------------------------------------------------


def test_json_round_trip_gives_identical_predictions(features, trained):
    # the registry stores the served model (the refit on every labelled date)
    text = trained.served_model.to_json()
    state = json.loads(text)
    assert {"booster", "features", "categorical_levels", "threshold", "params"} <= set(state)
    assert state["library_versions"]["lightgbm"] == lgb.__version__
    assert text == trained.registry_row["model_json"]
    restored = PropensityModel.from_json(text)
    latest = features[features["as_of_date"] == features["as_of_date"].max()].head(1000)
    assert np.array_equal(
        restored.predict_probability(latest), trained.served_model.predict_probability(latest)
    )
    assert np.array_equal(
        restored.contributions(latest), trained.served_model.contributions(latest)
    )
    assert restored.threshold_ == trained.served_model.threshold_
    assert restored.to_json() == text
    with pytest.raises(ValueError, match="not a PropensityModel"):
        PropensityModel.from_json(json.dumps({"format": "pickle"}))


# -- scoring ---------------------------------------------------------------------


def test_probability_with_contributions_is_predict_probability(features, trained):
    """Scoring takes the probability from the per-group leaf values that come with
    the contributions; it must be predict_probability bit for bit, and the
    contributions LightGBM's own TreeSHAP."""
    model = trained.model
    latest = features[features["as_of_date"] == features["as_of_date"].max()]
    probability, contributions = model.probability_and_contributions(latest)
    assert np.array_equal(probability, model.predict_probability(latest))
    expected = model.booster_.predict(model.encode(latest), pred_contrib=True)
    np.testing.assert_allclose(contributions, expected, rtol=0, atol=1e-10)
    assert np.array_equal(model.contributions(latest), contributions)


def test_score_columns_and_ranges(scores, trained):
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert len(scores) == 3000
    assert scores["propensity"].between(0, 1).all()
    assert scores["propensity_percentile"].between(0, 100, inclusive="right").all()
    assert scores["propensity_percentile"].max() == 100
    assert set(scores["propensity_decile"]) == set(range(1, 11))
    assert scores["propensity_decile"].value_counts().between(250, 350).all()
    assert (
        scores["is_predicted_buyer"] == (scores["propensity"] >= trained.model.threshold_)
    ).all()
    assert (scores["model_id"] == trained.registry_row["model_id"]).all()

    ordered = scores.sort_values("propensity", ascending=False, kind="stable")
    assert ordered["propensity_percentile"].is_monotonic_decreasing
    assert ordered["propensity_decile"].is_monotonic_increasing


def test_percentiles_are_ranked_within_each_as_of_date(features, trained):
    both = features[features["as_of_date"] >= date(2024, 3, 31)]
    both = both[both["customer_id"] < "c00600"]
    together = score_customers(both, trained.model, "m")
    for day, part in both.groupby("as_of_date"):
        alone = score_customers(part, trained.model, "m")
        mask = (together["as_of_date"] == day).to_numpy()
        assert np.array_equal(
            together.loc[mask, "propensity_percentile"], alone["propensity_percentile"]
        )
        assert np.array_equal(together.loc[mask, "propensity_decile"], alone["propensity_decile"])


def test_rank_percentile_and_decile_ties():
    percentile, decile = rank_percentile_and_decile(np.array([0.9, 0.1, 0.5, 0.9]))
    assert percentile.tolist() == [100.0, 25.0, 50.0, 100.0]
    assert decile.tolist() == [3, 10, 8, 3]


def test_reasons_are_top_contributions_with_matching_direction(features, scores, trained):
    model = trained.model
    latest = features[features["as_of_date"] == features["as_of_date"].max()]
    contrib = model.contributions(latest)[:, :-1]
    position = {name: j for j, name in enumerate(model.features_)}
    previous = np.full(len(scores), np.inf)
    for i in (1, 2, 3):
        feature = scores[f"reason_{i}_feature"]
        assert feature.notna().all() and feature.isin(model.features_).all()
        text = scores[f"reason_{i}"]
        direction = scores[f"reason_{i}_direction"]
        assert all(
            t.startswith(f + " ") and t.endswith(d + " the score")
            for t, f, d in zip(text, feature, direction, strict=True)
        )
        value = contrib[np.arange(len(scores)), feature.map(position).to_numpy()]
        expected = np.where(value > 0, "raises", "lowers")
        assert (scores[f"reason_{i}_direction"].to_numpy() == expected).all()
        assert (np.abs(value) <= previous).all()  # ordered by |contribution|
        previous = np.abs(value)
    # The three reasons are the three largest |contributions| (ties aside).
    third_largest = -np.sort(-np.abs(contrib), axis=1)[:, 2]
    assert np.allclose(previous, third_largest)
    assert (scores["reason_1_feature"] != scores["reason_2_feature"]).all()

    days = scores["reason_1_feature"] == "days_since_last_order"
    sample = scores[days].iloc[0]
    raw = latest["days_since_last_order"].iloc[scores.index[days][0]]
    shown = "missing" if np.isnan(raw) else str(int(raw))
    assert sample["reason_1_value"] == shown


def _reference_reason(model, X, contributions, row, slot):
    """One reason slot of one row, the slow obvious way (a stable sort of the row)."""
    contrib = contributions[row, :-1]
    j = int(np.argsort(-np.abs(contrib), kind="stable")[slot])
    value = contrib[j]
    if value == 0:
        return None, None, None, None
    feature = model.features_[j]
    raw = X.iloc[row, j]
    missing = pd.isna(raw)
    if missing:
        text = "missing"
    elif isinstance(X.dtypes.iloc[j], pd.CategoricalDtype):
        text = str(raw)
    else:
        text = explain._format_number(float(np.round(raw, 4)))
    direction = "raises" if value > 0 else "lowers"
    sentence = (
        f"{feature} is missing {direction} the score"
        if missing
        else f"{feature} = {text} {direction} the score"
    )
    return sentence, feature, text, direction


def test_reasons_match_a_row_by_row_reference(features, trained, monkeypatch):
    """Texts are built once per distinct value and sentence and filled by index;
    every row must read as if built on its own, across top-k chunks too."""
    model = trained.model
    rows = features[features["as_of_date"] == features["as_of_date"].max()].head(700)
    rows = rows.assign(region=rows["region"].where(np.arange(len(rows)) % 7 != 0, "atlantis"))
    X = model.encode(rows).reset_index(drop=True)
    contributions = model.contributions(X)
    monkeypatch.setattr(explain, "_TOP_CHUNK_ROWS", 64)
    frame = explain.reasons(model, X, contributions)
    assert all(dtype == "str" for dtype in frame.dtypes)
    for row in range(len(X)):
        for slot in range(3):
            expected = _reference_reason(model, X, contributions, row, slot)
            got = tuple(
                frame[f"reason_{slot + 1}{suffix}"].iloc[row]
                for suffix in ("", "_feature", "_value", "_direction")
            )
            got = tuple(None if pd.isna(v) else v for v in got)
            assert got == expected, (row, slot)


def test_top_contributions_equal_a_stable_sort_with_ties(monkeypatch):
    rng = np.random.default_rng(3)
    # Small integers: many ties, zeros and equal magnitudes of opposite sign.
    contributions = rng.integers(-3, 4, size=(1000, 9)).astype("float64")
    contributions[::5] = 0.0
    monkeypatch.setattr(explain, "_TOP_CHUNK_ROWS", 97)
    for k in (1, 3, 9, 12):
        expected = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :k]
        assert np.array_equal(explain.top_contributions(contributions, k), expected)
    # Column-major input (the layout of the TreeSHAP result) gives the same.
    assert np.array_equal(
        explain.top_contributions(np.asfortranarray(contributions)),
        np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :3],
    )


def test_reasons_with_fewer_features_than_slots_are_null():
    class TwoFeatures:
        features_ = ["a", "b"]

    X = pd.DataFrame({"a": [1.0, np.nan, 0.5], "b": [2.0, 3.0, 4.0]})
    contributions = np.array([[0.5, -0.25, 0.1], [0.0, 0.0, 0.1], [-1.0, 2.0, 0.1]])
    frame = explain.reasons(TwoFeatures(), X, contributions)
    assert frame["reason_1"].tolist()[0] == "a = 1 raises the score"
    assert frame["reason_2"].tolist()[2] == "a = 0.5 lowers the score"
    assert frame["reason_1"].isna().tolist() == [False, True, False]
    assert frame["reason_3"].isna().all() and frame["reason_3_feature"].isna().all()
    assert all(dtype == "str" for dtype in frame.dtypes)
    empty = explain.reasons(TwoFeatures(), X.iloc[:0], contributions[:0])
    assert len(empty) == 0 and list(empty.columns) == list(frame.columns)


def test_rule_baseline_works_with_missing_signals(features):
    split = split_snapshots(features)
    encoder = FeatureEncoder().fit(split.train)
    X, X_val = encoder.transform(split.train), encoder.transform(split.validation)
    y = split.train[LABEL].astype(float).to_numpy()
    y_val = split.validation[LABEL].astype(float).to_numpy()

    full = RecencyFrequencyRule().fit(X, y, X_val, y_val)
    assert full.signals_ == ["orders_90d", "orders_365d", "days_since_last_order"]
    partial = RecencyFrequencyRule().fit(
        X.drop(columns=["orders_90d"]).assign(days_since_last_order=np.nan),
        y,
        X_val.drop(columns=["orders_90d"]),
        y_val,
    )
    assert partial.signals_ == ["orders_365d"]
    none = RecencyFrequencyRule().fit(X[["noise_1"]], y, X_val[["noise_1"]], y_val)
    p = none.predict_probability(X_val[["noise_1"]])
    assert none.signals_ == [] and np.ptp(p) == 0


def test_bgnbd_baseline_ranks_by_the_bgnbd_column_alone(features):
    split = split_snapshots(features)
    y = split.train[LABEL].astype(float).to_numpy()
    y_val = split.validation[LABEL].astype(float).to_numpy()
    signal = BgNbdBaseline.SIGNAL

    def with_signal(frame):
        # a made-up BG/NBD probability; null for a fifth of the customers (no history)
        values = 1 / (1 + np.exp(-frame["orders_90d"].astype(float).to_numpy()))
        return frame.assign(**{signal: np.where(np.arange(len(frame)) % 5 == 0, np.nan, values)})

    train, validation = with_signal(split.train), with_signal(split.validation)
    encoder = FeatureEncoder().fit(train)
    X, X_val = encoder.transform(train), encoder.transform(validation)
    baseline = BgNbdBaseline().fit(X, y, X_val, y_val)
    p = baseline.predict_probability(X_val)
    expected = np.nan_to_num(validation[signal].to_numpy(), nan=0.0)
    np.testing.assert_array_equal(p, expected)
    assert baseline.has_signal_ and 0 < baseline.threshold_ < 1
    # without the column (a warehouse built before it): everyone gets the base rate
    absent = BgNbdBaseline().fit(X.drop(columns=[signal]), y, X_val.drop(columns=[signal]), y_val)
    assert not absent.has_signal_
    assert np.ptp(absent.predict_probability(X_val.drop(columns=[signal]))) == 0


def test_the_params_are_chosen_on_validation_from_the_grid(features):
    grid = ({}, {"learning_rate": 0.05, "num_leaves": 7, "max_depth": 3})
    result = train_propensity_model(features, num_threads=THREADS, param_grid=grid)
    choice = json.loads(result.registry_row["model_choice_json"])
    assert [entry["params"] for entry in choice] == [dict(g) for g in grid]
    chosen = [entry for entry in choice if entry["chosen"]]
    assert len(chosen) == 1
    assert chosen[0]["validation_roc_auc"] == max(e["validation_roc_auc"] for e in choice)
    assert chosen[0]["best_iteration"] == result.registry_row["best_iteration"]
    params = json.loads(result.registry_row["params_json"])
    expected_rate = chosen[0]["params"].get("learning_rate", DEFAULT_PARAMS["learning_rate"])
    assert params["learning_rate"] == expected_rate
    # explicit params: no grid, one candidate
    fixed = train_propensity_model(features, num_threads=THREADS, params={"num_leaves": 5})
    only = json.loads(fixed.registry_row["model_choice_json"])
    assert len(only) == 1 and only[0]["params"] == {"num_leaves": 5} and only[0]["chosen"]


def test_fit_on_rows_encoded_beforehand_equals_fit_on_raw_rows(features):
    split = split_snapshots(features)
    y = split.train[LABEL].astype(float).to_numpy()
    y_val = split.validation[LABEL].astype(float).to_numpy()
    raw = PropensityModel(num_threads=THREADS).fit(split.train, y, split.validation, y_val)
    encoder = FeatureEncoder().fit(split.train)
    X, X_val = encoder.transform(split.train), encoder.transform(split.validation)
    encoded = PropensityModel(num_threads=THREADS).fit(X, y, X_val, y_val, encoder=encoder)
    assert encoded.to_json() == raw.to_json()
    with pytest.raises(ValueError, match="the encoder excludes"):
        PropensityModel(exclude_features=["noise_1"]).fit(X, y, X_val, y_val, encoder=encoder)


def test_baselines_fit_on_a_fixed_sample_of_the_training_rows(features):
    split = split_snapshots(features)
    encoder = FeatureEncoder().fit(split.train)
    X, X_val = encoder.transform(split.train), encoder.transform(split.validation)
    y = split.train[LABEL].astype(float).to_numpy()
    y_val = split.validation[LABEL].astype(float).to_numpy()

    rows = fit_sample(len(X), 2000, seed=7)
    assert len(rows) == 2000 and (np.diff(rows) > 0).all()
    assert np.array_equal(rows, fit_sample(len(X), 2000, seed=7))
    assert fit_sample(len(X), len(X), seed=7) is None and fit_sample(len(X), None, 7) is None
    for baseline in (LogisticRegressionBaseline, RecencyFrequencyRule):
        sampled = baseline(max_fit_rows=2000, seed=7).fit(X, y, X_val, y_val)
        on_rows = baseline(max_fit_rows=None).fit(X.iloc[rows], y[rows], X_val, y_val)
        p = sampled.predict_probability(X_val)
        assert np.array_equal(p, on_rows.predict_probability(X_val))
        assert sampled.threshold_ == on_rows.threshold_
        everything = baseline(max_fit_rows=None).fit(X, y, X_val, y_val)
        assert not np.array_equal(p, everything.predict_probability(X_val))


def test_median_imputer_equals_simple_imputer_with_indicators(features):
    numeric = features.select_dtypes("number").astype("float64").drop(columns="push_click_rate_90d")
    fit_rows, new_rows = numeric.iloc[:5000], numeric.iloc[5000:].copy()
    new_rows.iloc[:10, 0] = np.nan  # missing where the fit rows had none: imputed, no indicator
    ours = MedianImputer().fit(fit_rows)
    sklearn_imputer = SimpleImputer(strategy="median", add_indicator=True).fit(fit_rows)
    assert np.array_equal(ours.transform(new_rows), sklearn_imputer.transform(new_rows))
    empty = features[["push_click_rate_90d"]]  # all missing: imputed 0, indicator 1
    assert np.array_equal(MedianImputer().fit(empty).transform(empty)[:2], [[0, 1]] * 2)


def test_scoring_in_blocks_equals_scoring_in_one_block(features, trained, scores, monkeypatch):
    from segment_and_predict.ml.propensity import scoring

    latest = features[features["as_of_date"] == features["as_of_date"].max()]
    monkeypatch.setattr(scoring, "REASON_BLOCK_ROWS", 97)
    in_blocks = score_customers(latest, trained.model, trained.registry_row["model_id"])
    assert len(latest) > 3 * 97
    pd.testing.assert_frame_equal(in_blocks, scores)


def test_scores_of_blocks_of_rows_are_the_scores_of_all_rows(features, trained, scores):
    # the daily job scores the snapshot as DuckDB hands it, a block of rows at a time
    # (score_blocks): the same values as scoring every row at once, ranks included
    import duckdb
    import pyarrow as pa

    from segment_and_predict.ml.serving import SCORES_SCHEMA

    latest = features[features["as_of_date"] == features["as_of_date"].max()]
    model_id = trained.registry_row["model_id"]
    parts = [latest.iloc[:1000], latest.iloc[1000:1001], latest.iloc[1001:]]
    table = score_blocks(iter(parts), trained.model, model_id)
    assert table.column_names == list(SCORE_COLUMNS)
    # as DuckDB stores it: the published types, text as VARCHAR
    con = duckdb.connect()
    con.register("scored", table)
    con.register("expected", SCORES_SCHEMA.empty_table())
    stored = con.execute("select * from scored").df()
    assert [d[1] for d in con.execute("describe scored").fetchall()] == [
        d[1] for d in con.execute("describe expected").fetchall()
    ]
    expected = scores.assign(as_of_date=scores["as_of_date"].astype("datetime64[us]"))
    stored["as_of_date"] = stored["as_of_date"].astype("datetime64[us]")
    for name in SCORE_COLUMNS:
        assert stored[name].tolist() == expected[name].tolist(), name
    assert isinstance(table, pa.Table)

    # a key repeated in two blocks is refused, as within one frame
    with pytest.raises(ValueError, match="duplicated"):
        score_blocks([latest.iloc[:10], latest.iloc[5:20]], trained.model, model_id)
    with pytest.raises(ValueError, match="at least one block"):
        score_blocks(iter([]), trained.model, model_id)
