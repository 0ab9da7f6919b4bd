"""Monitoring: PSI and reference bins (package), and the monitoring tables in the warehouse.

The warehouse tests start from the session's full build. Realised performance
needs scores whose 30-day label window has closed, so one fixture runs the
daily job on a copy at the serving model's own test snapshot date (its window
is complete in the data) and then at the default date. Scoring that date with
a model that was tested on it is not an honest estimate of future performance,
and is not used as one: it makes the SQL figures checkable against the
model's test metrics, computed by scikit-learn on the same rows at training.
"""

from __future__ import annotations

import json
import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from segment_and_predict.ml import drift, monitoring
from segment_and_predict.ml.propensity import FeatureEncoder

# ------------------------------------------------------------------ package


def test_psi_is_zero_for_identical_shares_and_grows_with_the_shift():
    rng = np.random.default_rng(0)
    reference = rng.normal(size=20_000)
    distribution = drift.numeric_distribution(reference)
    assert drift.compare("x", distribution, reference)["psi"] == pytest.approx(0, abs=1e-12)
    same_law = drift.compare("x", distribution, rng.normal(size=20_000))["psi"]
    small = drift.compare("x", distribution, rng.normal(0.3, size=20_000))["psi"]
    large = drift.compare("x", distribution, rng.normal(1.5, size=20_000))["psi"]
    assert same_law < 0.01 < small < 0.25 < large


def test_psi_matches_the_formula_and_floors_empty_bins():
    reference, current = [50, 30, 20], [30, 30, 40]
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.3, 0.3, 0.4])
    assert drift.population_stability_index(reference, current) == pytest.approx(
        float(np.sum((q - p) * np.log(q / p)))
    )
    # an empty bin on one side is large but finite
    psi = drift.population_stability_index([100, 0], [50, 50])
    assert math.isfinite(psi) and psi > 1
    assert math.isnan(drift.population_stability_index([0, 0], [1, 2]))
    with pytest.raises(ValueError, match="same bins"):
        drift.population_stability_index([1, 2], [1, 2, 3])


def test_numeric_bins_are_deciles_with_ties_merged_and_a_missing_bin():
    values = pd.Series([0.0] * 70 + list(range(1, 31)) + [None] * 10)
    distribution = drift.numeric_distribution(values)
    # 70% zeros: the deciles up to 0.7 collapse into one bin (-inf, 0]
    assert distribution["edges"][0] == 0.0
    assert distribution["counts"][0] == 70
    assert sum(distribution["counts"]) == 100 and distribution["null_count"] == 10
    labels = drift.bin_labels(distribution)
    assert labels[0] == "(-inf, 0]" and labels[-2].endswith("inf)") and labels[-1] == "missing"
    # rebinning the reference values reproduces its counts exactly
    assert drift.bin_counts(distribution, values) == distribution
    # values beyond the reference's range land in the end bins
    outside = drift.bin_counts(distribution, pd.Series([-5.0, 1e9]))
    assert outside["counts"][0] == 1 and outside["counts"][-1] == 1


def test_categorical_bins_count_new_values_as_other_and_nulls_as_missing():
    reference = drift.categorical_distribution(pd.Series(["a", "b", "b", None]), levels=["a", "b"])
    assert reference["counts"] == [1, 2] and reference["null_count"] == 1
    row = drift.compare("c", reference, pd.Series(["a", "z", "z", "z", None]))
    assert json.loads(row["bins_json"])[2] == {
        "bin": "other",
        "reference_count": 0,
        "current_count": 3,
        "reference_share": 0.0,
        "current_share": 0.6,
    }
    assert row["largest_shift_bin"] == "other" and row["psi"] > 0.25


@pytest.mark.parametrize(
    "dtype", ["object", pd.StringDtype("pyarrow"), pd.StringDtype("pyarrow", na_value=np.nan)]
)
def test_categorical_counts_do_not_depend_on_how_the_text_is_stored(dtype):
    # DuckDB hands text over Arrow-backed, counted as it is; a Python object column
    # goes through as_text: both give the same bins
    reference = drift.categorical_distribution(pd.Series(["a", "b", "b", None]), levels=["a", "b"])
    values = pd.Series(["a", "z", None, "b", "b", "a", "a"], dtype=dtype)
    counted = drift.bin_counts(reference, values)
    assert (counted["counts"], counted["other_count"], counted["null_count"]) == ([3, 2], 1, 1)
    # booleans taken as categories count as their text
    flags = drift.categorical_distribution(pd.Series([True, False, None], dtype="boolean"))
    assert flags["levels"] == ["False", "True"]
    assert drift.bin_counts(flags, pd.Series([True, True, None], dtype="boolean"))["counts"] == [
        0,
        2,
    ]


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "as_of_date": pd.Timestamp("2026-01-01"),
            "orders_365d": rng.poisson(2, n),
            "region": pd.Series(rng.choice(["north", "south", None], n), dtype="object"),
            "is_email_subscribed": rng.random(n) < 0.8,
        }
    )


def test_model_reference_describes_every_model_feature_and_round_trips_through_json():
    train = _frame(5000, 1)
    encoder = FeatureEncoder().fit(train)
    scores = np.linspace(0, 1, 1000)
    reference = drift.model_reference(
        train, encoder, scores, train_as_of_dates=["2026-01-01"], test_as_of_date="2026-02-01"
    )
    reference = json.loads(json.dumps(reference))
    assert set(reference["features"]) == {"orders_365d", "region", "is_email_subscribed"}
    assert reference["features"]["region"]["levels"] == ["north", "south"]
    deciles = np.quantile(scores, np.arange(1, 10) / 10)
    assert reference["score"]["edges"] == pytest.approx(deciles)
    same = drift.feature_drift(reference, train)
    assert [row["psi"] for row in same] == pytest.approx([0, 0, 0], abs=1e-12)
    assert json.loads(same[0]["reference_as_of_dates"]) == ["2026-01-01"]
    # another sample of the same law: small; a shifted one: above the fail threshold
    assert max(row["psi"] for row in drift.feature_drift(reference, _frame(5000, 2))) < 0.01
    shifted = _frame(5000, 3).assign(orders_365d=lambda f: f["orders_365d"] + 5)
    by_feature = {row["feature"]: row["psi"] for row in drift.feature_drift(reference, shifted)}
    assert by_feature["orders_365d"] > 0.25 and by_feature["region"] < 0.01
    with pytest.raises(ValueError, match="lack column"):
        drift.feature_drift(reference, train.drop(columns="region"))
    with pytest.raises(ValueError, match="Retrain"):
        drift.check_reference({"version": 0})


def test_segment_share_drift_compares_with_training_and_the_previous_day():
    rows, psi_training, psi_previous = drift.segment_share_drift(
        {1: 0.5, 2: 0.5}, {1: 60, 3: 40}, {1: 50, 2: 50}
    )
    by_id = {row["segment_id"]: row for row in rows}
    assert set(by_id) == {1, 2, 3}
    assert by_id[3]["reference_share"] == 0 and by_id[3]["current_share"] == 0.4
    assert by_id[1]["share_change_vs_training"] == pytest.approx(0.1)
    assert psi_training == pytest.approx(psi_previous) and psi_training > 0.25
    _, same, no_previous = drift.segment_share_drift({1: 0.5, 2: 0.5}, {1: 5, 2: 5})
    assert same == pytest.approx(0) and math.isnan(no_previous)


def _relations(con, **frames):
    for name, frame in frames.items():
        con.register(f"{name}_frame", frame)
        con.execute(f"create table {name} as select * from {name}_frame")
    return {name: con.table(name) for name in frames}


def test_segment_drift_skips_the_day_over_day_psi_across_a_segmenter_change():
    trained = [{"segment_id": i, "name": name, "share": 0.5} for i, name in ((1, "A"), (2, "B"))]
    segments_json = json.dumps(trained)
    day_1, day_2 = pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-02")
    with duckdb.connect() as con:
        r = _relations(
            con,
            segments=pd.DataFrame(
                {
                    "as_of_date": [day_1] * 4 + [day_2] * 4,
                    "segment_id": [1, 1, 2, 2, 1, 1, 1, 2],
                    "segment_model_id": ["old"] * 4 + ["new"] * 4,
                }
            ),
            registry=pd.DataFrame(
                {
                    "segment_model_id": ["new"],
                    "as_of_date": [day_1],
                    "segments_json": [segments_json],
                }
            ),
            dates=pd.DataFrame({"as_of_date": [day_2], "is_scoring_snapshot": [True]}),
        )
        table = monitoring.segment_drift_table(r["segments"], r["registry"], r["dates"]).to_pandas()
        assert table["current_share"].tolist() == [0.75, 0.25]
        assert table["previous_share"].tolist() == [0.5, 0.5]
        assert table["psi_vs_training"].gt(0).all() and table["psi_vs_previous"].isna().all()
        assert table["segment_name"].tolist() == ["A", "B"]
        # the same segmenter on both days: the day-over-day PSI is computed
        con.execute("update segments set segment_model_id = 'new'")
        table = monitoring.segment_drift_table(r["segments"], r["registry"], r["dates"]).to_pandas()
        assert table["psi_vs_previous"].notna().all()


def test_a_registry_from_before_references_gives_empty_drift_tables_of_the_right_types():
    day = pd.Timestamp("2026-01-01")
    with duckdb.connect() as con:
        r = _relations(
            con,
            scores=pd.DataFrame({"as_of_date": [day], "model_id": ["m1"], "propensity": [0.3]}),
            registry=pd.DataFrame({"model_id": ["m1"], "model_json": ["{}"]}),
            dates=pd.DataFrame({"as_of_date": [day], "is_scoring_snapshot": [True]}),
            features=pd.DataFrame({"as_of_date": [day], "x": [1.0]}),
        )
        for table in (
            monitoring.score_drift_table(r["scores"], r["registry"], r["dates"]),
            monitoring.feature_drift_table(r["features"], r["scores"], r["registry"], r["dates"]),
        ):
            assert table.num_rows == 0 and table.schema == drift.DRIFT_SCHEMA


# ---------------------------------------------------------------- warehouse


# ------------------------------------------------------- a drifted input
