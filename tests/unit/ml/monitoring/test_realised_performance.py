"""Realised performance (segment_and_predict.ml.monitoring): the figures per scoring date from
the scored customers and their outcomes, ROC-AUC and PR-AUC by scikit-learn
(propensity.metrics.ranking_metrics), checked here against their definitions."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import yaml
from dbt_helpers import REPO_ROOT

from segment_and_predict.ml import monitoring
from segment_and_predict.ml.propensity.metrics import ranking_metrics

D1, D2 = dt.date(2026, 9, 2), dt.date(2026, 10, 2)
REGISTRY = pd.DataFrame(
    {
        "model_id": ["m1"],
        "roc_auc": [0.8],
        "pr_auc": [0.6],
        "test_as_of_date": ["2026-10-02"],  # text in propensity_models
    }
)


def _mann_whitney(y, s) -> float:
    """P(a buyer's score > a non-buyer's), ties count half: every pair, by hand."""
    buyers = [b for b, is_buyer in zip(s, y, strict=True) if is_buyer]
    others = [o for o, is_buyer in zip(s, y, strict=True) if not is_buyer]
    wins = [1.0 if b > o else 0.5 if b == o else 0.0 for b, o in itertools.product(buyers, others)]
    return sum(wins) / len(wins)


def _average_precision(y, s) -> float:
    """Walking the distinct scores down: recall gained times precision at or above the score."""
    y, s = np.asarray(y, dtype=bool), np.asarray(s, dtype=float)
    total = 0.0
    for level in sorted(set(s), reverse=True):
        at_or_above = s >= level
        total += np.sum(y & (s == level)) * np.mean(y[at_or_above])
    return total / y.sum()


def _outcomes(as_of_date, scores, buyers, deciles=None, flagged=None, model_id="m1"):
    n = len(scores)
    return pd.DataFrame(
        {
            "as_of_date": [pd.Timestamp(as_of_date)] * n,
            "label_window_end_date": [pd.Timestamp(as_of_date) + pd.Timedelta(days=30)] * n,
            "customer_id": [f"c{i}" for i in range(n)],
            "model_id": [model_id] * n if isinstance(model_id, str) else model_id,
            "propensity": scores,
            "propensity_decile": deciles if deciles is not None else [1] + [2] * (n - 1),
            "is_predicted_buyer": flagged if flagged is not None else [s >= 0.5 for s in scores],
            "is_buyer": buyers,
        }
    )


# tied scores on both sides of the outcome
SCORES = [0.9, 0.7, 0.7, 0.5, 0.5, 0.5, 0.2, 0.2, 0.1, 0.1]
BUYERS = [True, True, False, True, False, False, True, False, False, False]


def test_ranking_metrics_follow_their_definitions_with_ties():
    figures = ranking_metrics(np.array(BUYERS, dtype=float), np.array(SCORES))
    assert figures["roc_auc"] == pytest.approx(_mann_whitney(BUYERS, SCORES), abs=1e-12)
    assert figures["pr_auc"] == pytest.approx(_average_precision(BUYERS, SCORES), abs=1e-12)


def test_ranking_metrics_are_nan_where_undefined():
    only_non_buyers = ranking_metrics(np.zeros(4), np.array([0.1, 0.2, 0.3, 0.4]))
    assert math.isnan(only_non_buyers["roc_auc"]) and math.isnan(only_non_buyers["pr_auc"])
    only_buyers = ranking_metrics(np.ones(4), np.array([0.1, 0.2, 0.3, 0.4]))
    assert math.isnan(only_buyers["roc_auc"]) and only_buyers["pr_auc"] == 1.0


def test_one_row_per_date_with_the_figures_of_its_customers():
    deciles = [1, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    outcomes = pd.concat(
        [
            _outcomes(D2, SCORES, BUYERS, deciles=deciles),
            _outcomes(D1, [0.8, 0.3, 0.6, 0.1], [True, False, False, False], model_id="m0"),
        ]
    )
    rows = monitoring.realised_performance(outcomes, REGISTRY)
    assert [row["as_of_date"] for row in rows] == [D1, D2]
    row = rows[1]
    assert row["model_id"] == "m1" and row["scoring_models"] == 1
    assert row["label_window_end_date"] == dt.date(2026, 11, 1)
    assert (row["customers"], row["buyers"]) == (10, 4)
    assert row["base_rate"] == pytest.approx(0.4)
    assert row["mean_propensity"] == pytest.approx(np.mean(SCORES))
    assert row["roc_auc"] == pytest.approx(_mann_whitney(BUYERS, SCORES), abs=1e-12)
    assert row["pr_auc"] == pytest.approx(_average_precision(BUYERS, SCORES), abs=1e-12)
    # flagged (>= 0.5): 6 customers, 3 of them bought, of 4 buyers
    assert row["precision_at_threshold"] == pytest.approx(3 / 6)
    assert row["recall_at_threshold"] == pytest.approx(3 / 4)
    # the stored decile 1 (two customers, both bought) against the base rate
    assert row["top_decile_lift"] == pytest.approx(1.0 / 0.4)
    assert (row["model_test_roc_auc"], row["model_test_pr_auc"]) == (0.8, 0.6)
    assert row["model_test_as_of_date"] == D2
    # a model the registry does not hold: its test figures are unknown
    assert rows[0]["model_id"] == "m0" and rows[0]["model_test_roc_auc"] is None


def test_undefined_figures_are_null_in_the_table():
    outcomes = pd.concat(
        [
            _outcomes(D1, [0.1, 0.2, 0.3], [False] * 3, flagged=[False] * 3),
            _outcomes(D2, [0.4, 0.6, 0.9], [True] * 3),
        ]
    )
    table = monitoring.typed_table(
        monitoring.realised_performance(outcomes, REGISTRY), monitoring.REALISED_PERFORMANCE_SCHEMA
    ).to_pylist()
    nobody_bought, everybody_bought = table
    for column in ("roc_auc", "pr_auc", "precision_at_threshold", "recall_at_threshold"):
        assert nobody_bought[column] is None, column
    assert nobody_bought["top_decile_lift"] is None and nobody_bought["base_rate"] == 0
    assert everybody_bought["roc_auc"] is None and everybody_bought["pr_auc"] == 1.0


def test_two_models_on_one_date_are_counted():
    outcomes = _outcomes(D2, [0.2, 0.8], [False, True], model_id=["m2", "m1"])
    (row,) = monitoring.realised_performance(outcomes, REGISTRY)
    assert row["model_id"] == "m1" and row["scoring_models"] == 2


def test_the_table_adds_only_the_dates_not_yet_evaluated_and_is_empty_without_outcomes():
    con = duckdb.connect()
    con.register(
        "outcomes_frame", pd.concat([_outcomes(D1, SCORES, BUYERS), _outcomes(D2, SCORES, BUYERS)])
    )
    con.execute("create table outcomes as select * from outcomes_frame")
    con.register("registry_frame", REGISTRY)
    con.execute("create table registry as select * from registry_frame")
    con.execute(f"create table evaluated as select date '{D1}' as as_of_date")
    outcomes, registry = con.table("outcomes"), con.table("registry")

    first = monitoring.realised_performance_table(outcomes, registry)
    assert first.schema == monitoring.REALISED_PERFORMANCE_SCHEMA
    assert first.column("as_of_date").to_pylist() == [D1, D2]
    later = monitoring.realised_performance_table(outcomes, registry, evaluated="evaluated")
    assert later.column("as_of_date").to_pylist() == [D2]
    # nothing observed yet: an empty table of the same columns and types
    nothing = monitoring.realised_performance_table(outcomes.filter("false"), registry)
    assert nothing.num_rows == 0 and nothing.schema == monitoring.REALISED_PERFORMANCE_SCHEMA


ARROW_TYPES = {
    "date": pa.date32(),
    "varchar": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
}


def test_the_schema_is_the_one_the_yaml_declares():
    """dbt-duckdb enforces no contract on a Python model: the YAML's columns and
    data types (what BI users were promised) are checked against the package here."""
    path = REPO_ROOT / "python_models" / "monitoring" / "_ml_monitoring__models.yml"
    (model,) = [
        m
        for m in yaml.safe_load(path.read_text())["models"]
        if m["name"] == "monitoring_realised_performance"
    ]
    declared = [(c["name"], ARROW_TYPES[c["data_type"]]) for c in model["columns"]]
    schema = monitoring.REALISED_PERFORMANCE_SCHEMA
    assert declared == list(zip(schema.names, schema.types, strict=True))
