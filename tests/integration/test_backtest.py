"""The walk-forward backtest (segment-and-predict backtest, docs/backtest.md)."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest
from dbt_helpers import REPO_ROOT, public_table_checksums, read_table

from segment_and_predict.backtest import (
    BACKTEST_COLUMNS,
    run_backtest,
    scratch_warehouse,
)
from segment_and_predict.dbt.jobs import Warehouse

# Dates 30 days apart; the last window (2026-09-29 + 30 days) closes inside
# the small data, which ends on 2026-10-31. (The CLI run in docs/backtest.md
# uses four; three keep the test's builds few.)
DATES = ["2026-07-31", "2026-08-30", "2026-09-29"]
METHODS = {"lightgbm", "logistic_regression", "recency_frequency_rule", "bgnbd"}


@pytest.fixture(scope="module")
def main_warehouse(small_raw_data, tmp_path_factory):
    """A main warehouse with a public table the backtest must leave alone."""
    path = tmp_path_factory.mktemp("backtest") / "shop.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table propensity_scores as select 'c1' as customer_id, 0.5 as p")
    return Warehouse.from_paths(REPO_ROOT, small_raw_data, path)


@pytest.fixture(scope="module")
def backtest(main_warehouse):
    before = public_table_checksums(main_warehouse)
    results = run_backtest(main_warehouse, DATES, log=lambda line: None)
    return results, before


def test_backtest_never_touches_the_main_warehouse(backtest, main_warehouse):
    _, before = backtest
    assert before and public_table_checksums(main_warehouse) == before


def test_one_row_per_date_and_method_with_realised_metrics(backtest):
    results, _ = backtest
    assert len(results) == len(DATES) * len(METHODS)
    assert set(results["method"]) == METHODS
    assert sorted({d.date().isoformat() for d in results["as_of_date"]}) == DATES
    assert results["is_label_window_closed"].all()
    for column in ("roc_auc", "pr_auc", "f1", "precision", "recall", "base_rate"):
        assert results[column].between(0, 1).all(), column
    model = results[results["method"] == "lightgbm"]
    assert (model["roc_auc"] > 0.75).all()
    assert (model["top_decile_lift"] > 1.5).all()
    # each date trained its own model, tested on the snapshot a label window before it
    assert model["model_id"].nunique() == len(DATES)
    gap = (model["as_of_date"] - model["test_as_of_date"]).dt.days
    assert (gap == 30).all()


def test_table_types_follow_the_contract(backtest, main_warehouse):
    scratch = scratch_warehouse(main_warehouse)
    types = read_table(
        scratch,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'main' and table_name = 'backtest_results' "
        "order by ordinal_position",
    )
    assert list(zip(types["column_name"], types["data_type"], strict=True)) == [
        (name, kind) for name, kind, _ in BACKTEST_COLUMNS
    ]


def test_realised_metrics_agree_with_the_monitoring_table(backtest, main_warehouse):
    """The backtest's labels (customer_labels) and the monitoring table's (its own join
    of the scores to the orders, monitoring_realised_outcomes) agree on every date a later
    build evaluated: the walk-forward build as of D + 30 days scores D's realised
    performance. Both measure with propensity.metrics (scikit-learn), so equal counts and
    equal figures say the two label paths picked the same customers and buyers."""
    results, _ = backtest
    scratch = scratch_warehouse(main_warehouse)
    realised = read_table(
        scratch,
        "select as_of_date, roc_auc, pr_auc, buyers, customers "
        "from monitoring_realised_performance order by as_of_date",
    )
    assert len(realised) == len(DATES) - 1
    model = results[results["method"] == "lightgbm"].set_index("as_of_date")
    for _, row in realised.iterrows():
        mine = model.loc[row["as_of_date"]]
        assert mine["passed_quality_gate"]
        assert (mine["buyers"], mine["customers"]) == (row["buyers"], row["customers"])
        np.testing.assert_allclose(
            [mine["roc_auc"], mine["pr_auc"]], [row["roc_auc"], row["pr_auc"]], rtol=1e-9
        )
