"""The report's derived figures: cut-off counts, the contact table, signed driver effects
and the segment projection (pure functions of report.analysis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segment_and_predict.report.analysis import (
    contact_table,
    cutoff_counts,
    driver_effects,
    projection_2d,
)


def test_cutoff_counts_follow_from_precision_recall_and_the_base_rate():
    counts = cutoff_counts(1000, 0.2, precision=0.5, recall=0.6, threshold=0.3)
    assert (
        counts.true_positives,
        counts.false_positives,
        counts.false_negatives,
        counts.true_negatives,
    ) == (120, 120, 80, 680)
    assert counts.contacted == 240 and counts.buyers == 200 and counts.customers == 1000
    # no one contacted: precision 0 and recall 0 is possible
    none = cutoff_counts(1000, 0.2, precision=0.0, recall=0.0, threshold=0.99)
    assert none.contacted == 0 and none.true_negatives == 800


@pytest.mark.parametrize(
    "figures",
    [
        (1000, 0.2, 0.0, 0.5, 0.3),  # buyers reached without contacting anyone
        (1000, 0.9, 0.1, 1.0, 0.3),  # more contacted in vain than there are non-buyers
        (1000, 0.2, float("nan"), 0.5, 0.3),
        (None, 0.2, 0.5, 0.5, 0.3),
    ],
)
def test_impossible_or_missing_figures_give_no_counts(figures):
    assert cutoff_counts(*figures) is None


def _gains() -> pd.DataFrame:
    buyers = [50, 30, 20, 10, 8, 6, 4, 3, 2, 1]
    return pd.DataFrame(
        {"score_decile": range(10, 0, -1), "customers": [100] * 10, "buyers": buyers[::-1]}
    )


def test_contact_table_reads_the_top_deciles_and_today_expectations():
    today = pd.DataFrame({"share": [0.1, 0.2, 0.3, 0.5], "customers": [4, 8, 12, 20]})
    today["expected_buyers"] = [3.5, 6.0, 7.5, 9.0]
    table = contact_table(_gains(), today)
    assert table["share"].tolist() == [0.1, 0.2, 0.3, 0.5]
    assert table["test_customers"].tolist() == [100, 200, 300, 500]
    assert table["test_buyers"].tolist() == [50, 80, 100, 118]
    assert table["share_of_buyers"].iloc[0] == pytest.approx(50 / 134)
    assert table["lift"].iloc[0] == pytest.approx(0.5 / (134 / 1000))
    assert table["today_expected_buyers"].tolist() == [3.5, 6.0, 7.5, 9.0]
    without = contact_table(_gains(), None)
    assert without["today_customers"].isna().all()


def test_driver_effects_give_the_sign_of_each_feature_by_quintile():
    rng = np.random.default_rng(0)
    n = 500
    frame = pd.DataFrame(
        {
            "recency": rng.uniform(0, 365, n),
            "visits": rng.poisson(4, n).astype(float),
            "region": rng.choice(["north", "south"], n),
        }
    )
    frame.loc[:49, "visits"] = np.nan
    contributions = np.column_stack(
        [
            -(frame["recency"] - 180) / 100,  # more days since the last order: lower
            np.where(frame["visits"].isna(), -0.3, (frame["visits"].fillna(0) - 4) / 4),
            np.where(frame["region"] == "north", 0.1, -0.1),
            np.full(n, -1.0),  # expected value
        ]
    )
    effects = driver_effects(
        contributions,
        frame,
        ["recency", "visits", "region"],
        order=["visits", "recency", "region", "not_in_model"],
    )
    assert effects.features == ["visits", "recency", "region"]
    assert effects.rows == n
    np.testing.assert_array_equal(effects.shap[:, 1], contributions[:, 0])
    assert np.isnan(effects.value_rank[:, 2]).all()  # categorical: no value rank
    assert np.isnan(effects.value_rank[:50, 0]).all()  # missing visits
    q = effects.quintiles
    recency = q[q["feature"] == "recency"].sort_values("quintile")
    assert recency["quintile"].tolist() == [1, 2, 3, 4, 5]
    assert recency["mean_shap"].is_monotonic_decreasing
    visits = q[(q["feature"] == "visits") & (q["quintile"] > 0)].sort_values("quintile")
    assert visits["mean_shap"].is_monotonic_increasing
    missing = q[(q["feature"] == "visits") & (q["quintile"] == 0)]
    assert missing["customers"].item() == 50 and missing["mean_shap"].item() == pytest.approx(-0.3)
    assert (q["feature"] == "region").sum() == 0


def test_projection_is_deterministic_and_keeps_the_main_direction():
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(0, 5, 300), rng.normal(0, 1, 300), rng.normal(0, 0.1, 300)])
    points, share = projection_2d(X)
    again, _ = projection_2d(X.copy())
    np.testing.assert_array_equal(points, again)
    assert points.shape == (300, 2)
    assert share[0] > 0.9 and share.sum() <= 1 + 1e-12
    # the first axis is the first column (largest spread), signed so its loading is positive
    assert np.corrcoef(points[:, 0], X[:, 0])[0, 1] > 0.99
    with pytest.raises(ValueError, match="at least 3 rows"):
        projection_2d(X[:2])
