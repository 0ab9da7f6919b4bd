"""Tests of the customer segmentation package (synthetic frames, fast)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from segment_specs import DECLARED_SPECS
from sklearn.datasets import make_blobs
from threadpoolctl import threadpool_limits

from segment_and_predict.ml.segmentation import (
    ASSIGNMENT_COLUMNS,
    REGISTRY_COLUMNS,
    FeatureSpec,
    Segmenter,
    SegmentPreprocessor,
    assign_segments,
    choose_k,
    clustering_stability,
    evaluate_k,
    feature_specs_from_catalog,
    match_segments,
    train_segmenter,
)
from segment_and_predict.ml.segmentation.naming import compute_profiles, name_segments
from segment_and_predict.ml.segmentation.segmenter import NEW_CUSTOMER_SEGMENT_ID

CATEGORIES = ("electronics", "home", "fashion", "beauty", "sports", "grocery", "other")
FIXED_TIME = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def _shares(rng, n, favourite: str | None) -> np.ndarray:
    p = np.full(len(CATEGORIES), 1.0)
    if favourite:
        p[CATEGORIES.index(favourite)] = 40.0
    return rng.dirichlet(p, n)


def make_features(groups: dict[str, int], seed: int = 0) -> pd.DataFrame:
    """customer_features-like frame with planted behavioural groups.

    groups: group name -> number of customers. Known groups: dormant, loyal,
    discount, lapsing, fashion, browsers.
    """
    rng = np.random.default_rng(seed)
    parts = []
    for g, n in groups.items():
        buyer = g not in ("dormant", "browsers")
        orders = {
            "dormant": np.zeros(n),
            "browsers": np.zeros(n),
            "loyal": rng.poisson(25, n) + 5,
            "discount": rng.poisson(5, n) + 1,
            "lapsing": rng.poisson(6, n) + 2,
            "fashion": rng.poisson(4, n) + 1,
        }[g].astype(float)
        recency = {
            "loyal": rng.exponential(8, n),
            "discount": rng.exponential(30, n),
            "lapsing": rng.uniform(200, 360, n),
            "fashion": rng.exponential(40, n),
        }.get(g)
        sessions = rng.poisson({"loyal": 15, "browsers": 20, "dormant": 0.3}.get(g, 3), n)
        discount = {"discount": 0.9, "loyal": 0.05}.get(g, 0.25)
        aov = rng.lognormal(np.log(80 if g == "loyal" else 45), 0.2, n)
        # Realistic spread: many customers open nothing even when subscribed.
        email = np.clip(rng.normal({"loyal": 0.4, "dormant": 0.0}.get(g, 0.15), 0.2, n), 0, 1)
        email[rng.random(n) < 0.12] = np.nan
        shares = _shares(rng, n, "fashion" if g == "fashion" else None)
        df = pd.DataFrame(
            {
                "age_band": rng.choice(["18-24", "25-34", "35-44", "45-54"], n),
                "region": rng.choice(["north", "south"], n),
                "acquisition_channel": rng.choice(["organic", "paid_search"], n),
                "device_type": rng.choice(["mobile", "desktop"], n),
                "loyalty_tier": rng.choice(["bronze", "gold", None], n),
                "tenure_days": rng.integers(30, 1000, n),
                "orders_365d": orders,
                "orders_90d": np.floor(orders / 4),
                "days_since_last_order": np.round(recency) if buyer else np.full(n, np.nan),
                "total_spend_365d": orders * aov,
                "avg_order_value_365d": aov if buyer else np.full(n, np.nan),
                "discount_usage_rate_365d": np.clip(rng.normal(discount, 0.05, n), 0, 1)
                if buyer
                else np.full(n, np.nan),
                "sessions_30d": sessions,
                "email_open_rate_90d": email,
                "purchased_next_30d": rng.random(n) < 0.2,
            }
        )
        for j, c in enumerate(CATEGORIES):
            df[f"share_spend_{c}"] = shares[:, j] if buyer else np.nan
        df["_group"] = g
        parts.append(df)
    out = pd.concat(parts, ignore_index=True)
    out = out.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    out.insert(0, "customer_id", [f"c{i:05d}" for i in range(len(out))])
    out.insert(1, "as_of_date", date(2026, 11, 1))
    return out


GROUPS4 = {"dormant": 500, "loyal": 250, "discount": 300, "lapsing": 350}
FAST = {"n_bootstrap": 10, "trained_at": FIXED_TIME, "feature_specs": DECLARED_SPECS}


@pytest.fixture(scope="module")
def features4() -> pd.DataFrame:
    return make_features(GROUPS4, seed=1).drop(columns="_group")


@pytest.fixture(scope="module")
def trained4(features4):
    return train_segmenter(features4, k_values=range(3, 7), **FAST)


@pytest.fixture(autouse=True, scope="module")
def _one_native_thread():
    # As in train_segmenter: OpenMP busy-waiting on shared cores is far slower.
    with threadpool_limits(limits=1):
        yield


# ----------------------------------------------------------- preprocessing
def test_log_transform_and_scaling(features4):
    pre = SegmentPreprocessor(DECLARED_SPECS).fit(features4)
    U = pre.transform_unscaled(features4)
    j = pre.feature_names_out_.index("orders_365d")
    np.testing.assert_allclose(U[:, j], np.log1p(features4["orders_365d"].to_numpy()))
    Z = pre.transform(features4)
    # Standardised then weighted: mean 0, std = weight (before clipping).
    assert abs(Z[:, j].mean()) < 1e-9
    assert Z[:, j].std() == pytest.approx(1.0, abs=1e-6)


def test_imputation_and_missing_indicators():
    df = make_features({"dormant": 20, "loyal": 20}, seed=2)
    df.loc[0, "days_since_last_order"] = np.nan
    df.loc[1, "email_open_rate_90d"] = np.nan
    pre = SegmentPreprocessor(DECLARED_SPECS).fit(df)
    U = pre.transform_unscaled(df)
    names = pre.feature_names_out_
    assert U[0, names.index("days_since_last_order")] == pytest.approx(np.log1p(365.0))
    assert U[0, names.index("days_since_last_order_missing")] == 1.0
    assert U[1, names.index("email_open_rate_90d")] == 0.0
    assert U[1, names.index("email_open_rate_90d_missing")] == 1.0
    loyal = df.index[df["_group"] == "loyal"][-1]
    assert U[loyal, names.index("days_since_last_order_missing")] == 0.0
    assert not np.isnan(pre.transform(df)).any()


def test_absent_features_are_dropped_and_recorded(features4):
    df = features4.drop(columns=["sessions_30d"]).assign(
        discount_usage_rate_365d=np.nan, email_open_rate_90d=0.3
    )
    pre = SegmentPreprocessor(DECLARED_SPECS).fit(df)
    assert pre.dropped_features_["sessions_30d"] == "column absent"
    assert pre.dropped_features_["discount_usage_rate_365d"] == "all null"
    assert pre.dropped_features_["email_open_rate_90d"] == "constant"
    assert pre.dropped_features_["email_open_rate_90d_missing"] == "constant"
    for name in ("sessions_30d", "discount_usage_rate_365d", "email_open_rate_90d"):
        assert name not in pre.feature_names_out_
    assert "orders_365d" in pre.feature_names_out_
    # Profile fields and the label never enter the distance.
    assert not {"region", "age_band", "purchased_next_30d"} & set(pre.feature_names_out_)


def test_no_usable_features_is_a_clear_error():
    df = pd.DataFrame({"customer_id": ["a", "b", "c"], "region": ["n", "s", "n"]})
    with pytest.raises(ValueError, match="No usable clustering feature"):
        SegmentPreprocessor(DECLARED_SPECS).fit(df)
    with pytest.raises(ValueError, match="label"):
        FeatureSpec("purchased_next_30d")


def test_preprocessor_json_round_trip_gives_identical_transform(features4):
    pre = SegmentPreprocessor(DECLARED_SPECS).fit(features4)
    restored = SegmentPreprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    np.testing.assert_array_equal(restored.transform(features4), pre.transform(features4))
    assert restored.dropped_features_ == pre.dropped_features_


# -------------------------------------------------------- model selection
def test_stability_high_on_separated_blobs_lower_on_noise():
    X, _ = make_blobs(n_samples=1500, centers=4, n_features=5, cluster_std=0.5, random_state=0)
    noise = np.random.default_rng(0).standard_normal((1500, 5))
    blobs_ari, aris = clustering_stability(X, 4, n_bootstrap=10, random_state=0)
    noise_ari, _ = clustering_stability(noise, 4, n_bootstrap=10, random_state=0)
    assert len(aris) == 10
    assert blobs_ari > 0.98
    assert noise_ari < blobs_ari - 0.1


def test_k_selection_finds_the_true_k_on_blobs():
    X, _ = make_blobs(n_samples=2000, centers=5, n_features=6, cluster_std=0.6, random_state=3)
    rows = evaluate_k(X, range(3, 9), n_bootstrap=10, random_state=0)
    assert [r["k"] for r in rows] == list(range(3, 9))
    k, passed = choose_k(rows)
    assert (k, passed) == (5, True)


def test_choose_k_when_nothing_passes_returns_best_marked_failing():
    rows = [
        {"k": k, "silhouette": s, "stability_ari": 0.5, "smallest_segment_share": 0.1}
        for k, s in [(3, 0.5), (4, 0.15), (5, 0.18), (6, 0.1)]
    ]
    assert choose_k(rows) == (5, False)


# ------------------------------------------------------- model + JSON
def test_loaded_json_assigns_exactly_the_fitted_labels(features4, trained4):
    model = trained4.model
    fitted = model.segment_ids_[model.labels_]
    out = assign_segments(features4, trained4.registry_row["model_json"])
    assert list(out.columns) == list(ASSIGNMENT_COLUMNS)
    np.testing.assert_array_equal(out["segment_id"].to_numpy(), fitted)
    assert out["segment_id"].dtype == np.int64
    assert (out["customer_id"] == features4["customer_id"]).all()
    assert (out["segment_model_id"] == trained4.registry_row["segment_model_id"]).all()
    reloaded = Segmenter.from_json(model.to_json())
    np.testing.assert_array_equal(reloaded.predict(features4), fitted)


def test_training_recovers_planted_groups_and_fills_registry_row(features4, trained4):
    row = trained4.registry_row
    assert tuple(row) == REGISTRY_COLUMNS
    json.dumps(row)  # flat and JSON-serialisable
    assert all(v is None or isinstance(v, str | int | float | bool) for v in row.values())
    assert row["k"] == 4 and row["passed_quality_gate"] is True
    assert row["segment_model_id"].startswith("seg_20261102T060000Z_")
    assert row["as_of_date"] == "2026-11-01" and row["n_customers"] == len(features4)
    assert row["silhouette"] >= 0.2 and row["stability_ari"] >= 0.75
    algorithms = {r["algorithm"] for r in json.loads(row["algorithm_comparison_json"])}
    assert {"kmeans", "gaussian_mixture"} <= algorithms
    assert [r["k"] for r in json.loads(row["k_selection_json"])] == [3, 4, 5, 6]
    segments = json.loads(row["segments_json"])
    assert sum(s["size"] for s in segments) == len(features4)
    truth = make_features(GROUPS4, seed=1)["_group"]
    purity = pd.crosstab(truth, trained4.model.labels_).max(axis=1).sum() / len(truth)
    assert purity > 0.95  # each planted group sits in one segment


def test_training_is_deterministic(features4, trained4):
    again = train_segmenter(features4, k_values=range(3, 7), **FAST)
    assert again.registry_row["model_json"] == trained4.registry_row["model_json"]


# ----------------------------------------------------------- matching
def test_retrain_on_same_data_keeps_ids_and_names(features4, trained4):
    prev = trained4.registry_row
    again = train_segmenter(
        features4, k_values=range(3, 7), previous_model_json=prev["model_json"], **FAST
    )
    before = {(s["segment_id"], s["name"]) for s in json.loads(prev["segments_json"])}
    after = {(s["segment_id"], s["name"]) for s in json.loads(again.registry_row["segments_json"])}
    assert before == after
    assert again.registry_row["matched_to_model_id"] == prev["segment_model_id"]
    a = assign_segments(features4, prev["model_json"])["segment_id"]
    b = assign_segments(features4, again.registry_row["model_json"])["segment_id"]
    assert (a == b).all()


def test_ids_follow_segments_when_cluster_order_changes(trained4):
    prev = trained4.model
    d = json.loads(prev.to_json())
    perm = [2, 0, 3, 1]
    d["centroids"] = [d["centroids"][i] for i in perm]
    d["segments"] = [{**d["segments"][i], "segment_id": 100 + j} for j, i in enumerate(perm)]
    permuted = Segmenter.from_dict(d)
    matches = match_segments(prev.to_json(), permuted)
    prev_ids = prev.segment_ids_
    assert [m.segment_id for m in matches] == [int(prev_ids[i]) for i in perm]
    assert all(m.matched and m.distance == pytest.approx(0.0, abs=1e-9) for m in matches)


def test_a_genuinely_new_segment_gets_a_new_id():
    old = make_features(GROUPS4, seed=4).drop(columns="_group")
    new = make_features({**GROUPS4, "browsers": 300}, seed=5).drop(columns="_group")
    first = train_segmenter(old, k_values=[4], **FAST)
    second = train_segmenter(
        new, k_values=[5], previous_model_json=first.registry_row["model_json"], **FAST
    )
    prev = {s["segment_id"]: s["name"] for s in first.model.segments_}
    segs = second.model.segments_
    new_ids = [s["segment_id"] for s in segs if s["segment_id"] not in prev]
    assert new_ids == [max(prev) + 1]
    for s in segs:
        if s["segment_id"] in prev:
            assert s["name"] == prev[s["segment_id"]]
    assert len({s["name"] for s in segs}) == 5
    fresh = next(s for s in segs if s["segment_id"] == new_ids[0])
    assert "brows" in fresh["name"].lower()


# ------------------------------------------------------------- naming
def test_names_are_distinct_readable_and_quote_figures(trained4):
    segs = trained4.model.segments_
    names = [s["name"] for s in segs]
    assert len(set(names)) == len(names)
    for s in segs:
        assert "cluster" not in s["name"].lower()
        assert s["description"].startswith(s["name"] + ": ")
        assert any(ch.isdigit() for ch in s["description"])
    assert {"Dormant customers", "Loyal high spenders", "Discount-driven shoppers"} <= set(names)
    assert any(n.startswith("Lapsing") for n in names)


def test_duplicate_base_names_are_qualified():
    df = make_features({"lapsing": 300, "loyal": 300}, seed=6)
    # Two parts of the same group get the same base name.
    labels = np.where(df["_group"] == "loyal", 0, 1)
    labels[(df["_group"] == "loyal") & (df["email_open_rate_90d"].isna())] = 2
    profiles, base = compute_profiles(df, labels, 3)
    names = [n for n, _ in name_segments(profiles, base)]
    assert len(set(names)) == 3, names
    assert sum(n.startswith("Loyal high spenders") for n in names) == 2
    kept = [n for n, _ in name_segments(profiles, base, fixed_names={2: "Loyal high spenders"})]
    assert kept[2] == "Loyal high spenders" and kept[0] != kept[2]


# ----------------------------------------------------- robustness/errors
def test_assignment_handles_nulls_unseen_values_and_missing_columns(trained4):
    odd = pd.DataFrame(
        {
            "customer_id": ["x1", "x2", "x3"],
            "as_of_date": [date(2026, 11, 2)] * 3,
            "region": ["atlantis", None, "north"],
            "orders_365d": [None, "n/a", 3],
            "total_spend_365d": [np.nan, np.inf, -5.0],
            "email_open_rate_90d": [None, 0.4, 7.0],
        }
    )
    out = assign_segments(odd, trained4.registry_row["model_json"])
    assert len(out) == 3
    assert set(out["segment_id"]) <= set(trained4.model.segment_ids_.tolist())
    assert out["distance_to_centroid"].map(math.isfinite).all()
    assert out["segment_name"].notna().all()


def test_bad_input_gives_plain_value_errors(features4):
    with pytest.raises(ValueError, match="Too few customers"):
        train_segmenter(features4.head(40), **FAST)
    with pytest.raises(ValueError, match="non-empty"):
        train_segmenter(features4.head(0))
    two_dates = features4.assign(
        as_of_date=[date(2026, 11, 1), date(2026, 10, 1)] * (len(features4) // 2)
    )
    with pytest.raises(ValueError, match="one snapshot"):
        train_segmenter(two_dates, **FAST)
    with pytest.raises(ValueError, match="customer_id"):
        assign_segments(
            features4.drop(columns="customer_id"),
            Segmenter(4, preprocessor=SegmentPreprocessor(DECLARED_SPECS)).fit(features4),
        )


def test_daily_assignment_does_not_import_the_training_libraries():
    """customer_segments runs first among the daily build's Python models: importing
    scikit-learn and scipy.optimize there (training-only) made it ~2 s slower in the
    daily build than in the full build, where training had imported them already."""
    code = (
        "import sys\n"
        "from segment_and_predict.ml.segmentation import assign_segments\n"
        "loaded = [m for m in ('sklearn', 'scipy.optimize', 'threadpoolctl') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------- new customers
def _with_new_customers(features: pd.DataFrame, n_new: int = 150) -> pd.DataFrame:
    """features4 with ``n_new`` dormant-looking customers who signed up 5-80 days ago."""
    out = features.copy()
    rows = out.index[:n_new]
    out.loc[rows, "tenure_days"] = np.linspace(5, 80, n_new).round()
    return out


def test_new_customers_form_their_own_segment_at_fit_and_assignment(features4):
    features = _with_new_customers(features4)
    is_new = features["tenure_days"].to_numpy() < 90
    result = train_segmenter(features, k_values=range(3, 7), new_customer_days=90, **FAST)
    out = assign_segments(features, result.registry_row["model_json"])
    ids = out["segment_id"].to_numpy()
    # exactly the young sign-ups, whatever their behaviour, and nobody else
    np.testing.assert_array_equal(ids == NEW_CUSTOMER_SEGMENT_ID, is_new)
    assert set(out.loc[is_new, "segment_name"]) == {"New customers"}
    assert out.loc[is_new, "distance_to_centroid"].isna().all()
    assert out.loc[~is_new, "distance_to_centroid"].notna().all()
    assert (ids[~is_new] >= 1).all()
    # the clusters are the planted groups of the other customers, unchanged
    assert result.registry_row["k"] == 4 and result.registry_row["passed_quality_gate"]
    segments = json.loads(result.registry_row["segments_json"])
    new_segment = [s for s in segments if s["segment_id"] == NEW_CUSTOMER_SEGMENT_ID]
    assert len(new_segment) == 1 and new_segment[0]["size"] == is_new.sum()
    assert new_segment[0]["share"] == pytest.approx(is_new.mean())
    assert "signed up in the last 90 days" in new_segment[0]["description"]
    assert sum(s["size"] for s in segments) == len(features)
    # the rule travels with the model: a reloaded model assigns the same
    reloaded = Segmenter.from_json(result.model.to_json())
    np.testing.assert_array_equal(reloaded.predict(features), ids)


def test_assignment_reads_only_the_columns_the_segmenter_names(features4):
    # the daily job reads only these columns of customer_features (ModelKind.input_columns)
    features = _with_new_customers(features4)
    result = train_segmenter(features, k_values=range(3, 7), new_customer_days=90, **FAST)
    model_json = result.registry_row["model_json"]
    columns = Segmenter.from_json(model_json).input_columns_
    assert "tenure_days" in columns and len(columns) < len(features.columns) - 2
    narrow = features[["customer_id", "as_of_date", *columns]]
    pd.testing.assert_frame_equal(
        assign_segments(narrow, model_json), assign_segments(features, model_json)
    )
    # the training job reads the labelled date with these columns only (kind.py)
    from segment_and_predict.ml.segmentation.kind import segmenter_readable_columns

    readable = segmenter_readable_columns(DECLARED_SPECS, list(features.columns))
    assert set(columns) <= set(readable) < set(features.columns)
    assert any(name.startswith("share_spend_") for name in columns)  # the shares it adds
    # without the new-customer rule, tenure is read only if the clustering uses it
    plain = train_segmenter(features4, k_values=range(3, 7), **FAST).model
    assert set(plain.input_columns_) == {c["source"] for c in plain.preprocessor_.columns_}


def test_without_the_rule_young_customers_are_clustered_like_everyone(features4):
    features = _with_new_customers(features4)
    result = train_segmenter(features, k_values=range(3, 7), **FAST)
    out = assign_segments(features, result.registry_row["model_json"])
    assert (out["segment_id"] != NEW_CUSTOMER_SEGMENT_ID).all()
    assert NEW_CUSTOMER_SEGMENT_ID not in {
        s["segment_id"] for s in json.loads(result.registry_row["segments_json"])
    }


def test_a_retrain_keeps_the_new_customer_segment_and_the_matched_ids(features4):
    features = _with_new_customers(features4)
    first = train_segmenter(features, k_values=range(3, 7), new_customer_days=90, **FAST)
    again = train_segmenter(
        features,
        k_values=range(3, 7),
        new_customer_days=90,
        previous_model_json=first.registry_row["model_json"],
        **FAST,
    )
    before = {(s["segment_id"], s["name"]) for s in json.loads(first.registry_row["segments_json"])}
    after = {(s["segment_id"], s["name"]) for s in json.loads(again.registry_row["segments_json"])}
    assert before == after and (NEW_CUSTOMER_SEGMENT_ID, "New customers") in after


def test_the_segmenter_features_come_from_the_catalog_in_column_order():
    catalog = pd.DataFrame(
        {
            "feature": ["orders_365d", "region", "days_since_last_order"],
            "column_position": [2, 1, 3],
            "segmenter_json": [
                '{"transform": "log1p"}',
                None,
                '{"impute_value": 365, "clip_max": 365, "missing_indicator": true}',
            ],
        }
    )
    specs = feature_specs_from_catalog(catalog)
    assert [s.column for s in specs] == ["orders_365d", "days_since_last_order"]
    assert specs[0].transform == "log1p" and specs[1].missing_indicator
    assert specs[1].clip_max == 365 and specs[1].impute_value == 365
    # the project's own declarations: recency, orders, spend, visits, discounts, email
    assert {s.column for s in DECLARED_SPECS} == {
        "days_since_last_order",
        "orders_365d",
        "total_spend_365d",
        "sessions_30d",
        "discount_usage_rate_365d",
        "email_open_rate_90d",
    }


def test_a_mistyped_or_missing_segmenter_declaration_is_a_plain_error():
    bad = pd.DataFrame(
        {"feature": ["orders_365d"], "column_position": [1], "segmenter_json": ['{"tranform": 1}']}
    )
    with pytest.raises(
        ValueError, match=r"orders_365d: meta.segmenter has unknown keys \['tranform'\]"
    ):
        feature_specs_from_catalog(bad)
    with pytest.raises(ValueError, match="No feature of customer_features is declared"):
        feature_specs_from_catalog(bad.assign(segmenter_json=[None]))
    with pytest.raises(ValueError, match="needs the features to cluster on"):
        train_segmenter(make_features(GROUPS4, seed=1).drop(columns="_group"), n_bootstrap=10)
