"""Monitoring: PSI and reference bins (package), and the monitoring tables in the warehouse.

The warehouse tests start from the session's full build. Realised performance
needs scores whose 30-day label window has closed, so one fixture runs the
daily job on a copy at the serving model's own test snapshot date (its window
is complete in the data) and then at the default date. Scoring that date with
a model that was tested on it is not an honest estimate of future performance,
and is not used as one: it makes the realised figures checkable against the
model's test metrics, computed by scikit-learn on the same rows at training.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from dbt_helpers import SMALL_CUSTOMERS, assert_dbt_ok, copy_warehouse, read_table
from sklearn.metrics import average_precision_score, roc_auc_score

from segment_and_predict.dbt.jobs import Warehouse, daily_build, run_dbt
from segment_and_predict.ml import drift

# ------------------------------------------------------------------ package


# ---------------------------------------------------------------- warehouse


def test_the_registry_records_the_reference_of_the_serving_model(built_warehouse):
    row = read_table(
        built_warehouse,
        "select features_json, train_as_of_dates, test_as_of_date, n_train, n_test, "
        "reference_distribution_json from propensity_models",
    ).iloc[0]
    reference = json.loads(row["reference_distribution_json"])
    assert list(reference["features"]) == json.loads(row["features_json"])
    assert reference["feature_as_of_dates"] == json.loads(row["train_as_of_dates"])
    assert reference["score_as_of_date"] == row["test_as_of_date"]
    some_feature = next(iter(reference["features"].values()))
    assert sum(drift.all_counts(some_feature)) == row["n_train"]
    assert sum(drift.all_counts(reference["score"])) == row["n_test"]


def test_drift_tables_of_the_scoring_date(built_warehouse):
    features = read_table(built_warehouse, "select * from monitoring_feature_drift")
    model = read_table(built_warehouse, "select model_id, features_json from propensity_models")
    assert sorted(features["feature"]) == sorted(json.loads(model["features_json"][0]))
    assert (features["model_id"] == model["model_id"][0]).all()
    assert (features["current_rows"] == SMALL_CUSTOMERS).all()
    assert features["psi"].between(0, 0.1).all()  # the generator's base is stable
    score = read_table(built_warehouse, "select * from monitoring_score_drift")
    assert len(score) == 1 and 0 <= score["psi"][0] < 0.1
    # the segmenter is fit on the scoring snapshot itself: identical shares
    segments = read_table(built_warehouse, "select * from monitoring_segment_drift")
    assert segments["psi_vs_training"].abs().max() < 1e-9
    assert segments["current_share"].sum() == pytest.approx(1)
    assert segments["previous_as_of_date"].isna().all()


def _labels_from_raw(raw_path, as_of_date: str, customer_ids) -> np.ndarray:
    """Bought in [as_of_date, +30 days), read from the raw orders without the warehouse."""
    orders = pd.read_parquet(raw_path / "orders.parquet", columns=["customer_id", "ordered_at"])
    start = pd.Timestamp(as_of_date)
    end = start + pd.Timedelta(days=30)
    in_window = orders[(orders["ordered_at"] >= start) & (orders["ordered_at"] < end)]
    # the warehouse keeps customer ids as text (stg_orders)
    buyers = in_window["customer_id"].astype(str).unique()
    return np.isin(np.asarray(customer_ids).astype(str), buyers)


@pytest.fixture(scope="module")
def backfilled(built_warehouse, tmp_path_factory):
    """Daily runs at the serving model's test date (label window complete), then today."""
    warehouse = copy_warehouse(built_warehouse, tmp_path_factory.mktemp("monitoring"))
    test_date = read_table(warehouse, "select test_as_of_date from propensity_models").iloc[0, 0]
    assert_dbt_ok(daily_build(warehouse, as_of_date=test_date, capture=True))
    first = read_table(warehouse, "select * from monitoring_realised_performance")
    assert_dbt_ok(daily_build(warehouse, capture=True))
    return warehouse, test_date, first


def test_realised_performance_matches_the_models_own_test_metrics(backfilled):
    warehouse, test_date, first = backfilled
    # as of the test date its own window has not closed: nothing to realise yet
    assert first.empty
    realised = read_table(warehouse, "select * from monitoring_realised_performance")
    # today's run (window closed by its as_of_date) realises the backfilled date
    assert [d.date().isoformat() for d in realised["as_of_date"]] == [test_date]
    row = realised.iloc[0]
    model = read_table(warehouse, "select * from propensity_models").iloc[0]
    assert row["model_id"] == model["model_id"] and row["customers"] == model["n_test"]
    assert row["base_rate"] == pytest.approx(model["test_positive_rate"], abs=1e-12)
    # The served model is refitted on every labelled date, the test date among
    # them, so its realised figures there are its own scores against the labels
    # (the registry's test metrics describe the model before the refit).
    # The date's own features row was written as of that date, before its label
    # existed; the outcome is read from the staged orders in the window.
    outcome = read_table(
        warehouse,
        f"""
        select
            propensity_scores.propensity,
            exists (
                select 1 from staging.stg_orders
                where
                    stg_orders.customer_id = propensity_scores.customer_id
                    and stg_orders.ordered_at >= date '{test_date}'
                    and stg_orders.ordered_at < date '{test_date}' + interval 30 day
            ) as label
        from propensity_scores
        where propensity_scores.as_of_date = date '{test_date}'
        """,
    )
    y = outcome["label"].astype(bool).to_numpy()
    assert row["roc_auc"] == pytest.approx(roc_auc_score(y, outcome["propensity"]), abs=1e-9)
    assert row["pr_auc"] == pytest.approx(
        average_precision_score(y, outcome["propensity"]), abs=1e-9
    )


def test_realised_performance_with_ties_against_labels_from_the_raw_orders(backfilled, tmp_path):
    """Scores rounded to one decimal (many ties) on a copy, recomputed with --full-refresh;
    the labels are read from the raw export, not through the warehouse's label join."""
    source, test_date, _ = backfilled
    warehouse = copy_warehouse(source, tmp_path)
    with duckdb.connect(str(warehouse.warehouse_path)) as con:
        con.execute(
            "update propensity_scores set propensity = round(propensity, 1) "
            f"where as_of_date = date '{test_date}'"
        )
    result = run_dbt(
        ["run", "-s", "monitoring_realised_performance", "--full-refresh"],
        warehouse,
        capture=True,
    )
    assert_dbt_ok(result)
    scores = read_table(
        warehouse,
        f"select customer_id, propensity from propensity_scores where as_of_date = '{test_date}'",
    )
    labels = _labels_from_raw(warehouse.raw_data_path, test_date, scores["customer_id"])
    assert scores["propensity"].nunique() <= 11
    row = read_table(warehouse, "select * from monitoring_realised_performance").iloc[0]
    assert row["buyers"] == labels.sum()
    assert row["roc_auc"] == pytest.approx(roc_auc_score(labels, scores["propensity"]), abs=1e-12)
    assert row["pr_auc"] == pytest.approx(
        average_precision_score(labels, scores["propensity"]), abs=1e-12
    )


def test_drift_history_is_kept_by_date(backfilled):
    warehouse, test_date, _ = backfilled
    for table in ("monitoring_feature_drift", "monitoring_score_drift"):
        dates = read_table(warehouse, f"select distinct as_of_date from {table} order by 1")
        assert [d.date().isoformat() for d in dates["as_of_date"]] == [test_date, "2026-11-01"]
    segments = read_table(
        warehouse, "select * from monitoring_segment_drift where as_of_date = '2026-11-01'"
    )
    assert (segments["previous_as_of_date"].dt.date.astype(str) == test_date).all()
    assert segments["psi_vs_previous"].notna().all()


# ------------------------------------------------------- a drifted input


@pytest.fixture(scope="module")
def drifted_daily(built_warehouse, small_raw_data, tmp_path_factory):
    """The daily job on raw data where every customer's region is one never seen in training."""
    folder = tmp_path_factory.mktemp("drifted")
    raw = folder / "raw"
    raw.mkdir()
    for path in small_raw_data.glob("*.parquet"):
        table = pd.read_parquet(path)
        if path.name == "customers.parquet":
            table["region"] = "atlantis"
        table.to_parquet(raw / path.name, index=False)
    copied = copy_warehouse(built_warehouse, folder)
    warehouse = Warehouse(copied.project_dir, raw, copied.warehouse_path)
    return warehouse, daily_build(warehouse, capture=True)


def test_a_drifted_feature_fails_the_daily_job_but_todays_scores_are_published(
    built_warehouse, drifted_daily
):
    warehouse, result = drifted_daily
    assert result.returncode != 0
    out = result.stdout
    assert "FAIL 1 monitoring_feature_drift_psi_above_fail_threshold" in out
    assert "WARN 1 monitoring_feature_drift_psi_above_warn_threshold" in out
    # the region every customer moved to fails the day (calendar ages only warn)
    drift = read_table(
        warehouse, "select * from monitoring_feature_drift where feature = 'region'"
    ).iloc[0]
    assert drift["feature"] == "region" and drift["psi"] > 0.25
    assert drift["largest_shift_bin"] == "other" and drift["largest_shift_current_share"] == 1
    # nothing was held back but the BI snapshot (readers keep the previous day, docs/bi.md):
    # the warehouse keeps today's scores (changed by the new region) and marts
    # (run_completed: every skipped node is the snapshot or an exposure that reads it)
    assert result.published
    assert "OK created sql table model main.campaign_target_customers" in out
    query = "select customer_id, propensity from propensity_scores order by customer_id"
    before, after = read_table(built_warehouse, query), read_table(warehouse, query)
    assert len(after) == SMALL_CUSTOMERS
    assert (before["propensity"] != after["propensity"]).any()
    # only today's date is gated: the same rows pass with a fail threshold above them
    relaxed = run_dbt(
        ["test", "-s", "monitoring_feature_drift"],
        warehouse,
        dbt_vars={"monitoring_psi_fail": 1000},
        capture=True,
    )
    assert relaxed.returncode == 0, relaxed.stdout[-3000:]
    assert "WARN 1 monitoring_feature_drift_psi_above_warn_threshold" in relaxed.stdout


@pytest.mark.parametrize(
    ("psi_vars", "message"),
    [
        ({"monitoring_psi_warn": "high"}, "monitoring_psi_warn must be a number above 0"),
        ({"monitoring_psi_warn": 0.3, "monitoring_psi_fail": 0.2}, "must be below"),
    ],
)
def test_bad_psi_thresholds_stop_with_a_plain_message(built_warehouse, psi_vars, message):
    result = run_dbt(
        ["compile", "-s", "monitoring_score_drift"],
        built_warehouse,
        dbt_vars=psi_vars,
        capture=True,
    )
    assert result.returncode != 0
    assert message in result.stdout
