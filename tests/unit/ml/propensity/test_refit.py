"""The served propensity model is refitted on every labelled snapshot; the metrics are not.

Once early stopping has chosen the number of trees and validation the
threshold, the trees are grown again on train + validation + test. The
registry stores that refit as the model, while its test metrics keep
describing the model chosen before the refit, on test rows it never saw.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from synthetic_features import THREADS, make_features

from segment_and_predict.ml.propensity import (
    LABEL,
    PropensityModel,
    classification_metrics,
    train_propensity_model,
)
from segment_and_predict.ml.propensity.data import label_as_float


@pytest.fixture(scope="module")
def features():
    return make_features(n_customers=2000, n_snapshots=5, seed=3)


@pytest.fixture(scope="module")
def trained(features):
    return train_propensity_model(features, num_threads=THREADS)


def test_the_registry_serves_the_refit_with_the_chosen_trees_and_threshold(features, trained):
    row = trained.registry_row
    chosen, served = trained.model, trained.served_model
    stored = PropensityModel.from_json(row["model_json"])
    assert stored.booster_.model_to_string() == served.booster_.model_to_string()
    assert stored.booster_.model_to_string() != chosen.booster_.model_to_string()
    assert stored.booster_.num_trees() == chosen.best_iteration_ == row["best_iteration"]
    assert stored.threshold_ == chosen.threshold_ == row["threshold"]

    labelled_dates = sorted(features.loc[features[LABEL].notna(), "as_of_date"].unique())
    assert (
        json.loads(row["refit_as_of_dates"]) == [str(d)[:10] for d in labelled_dates]
        and len(labelled_dates) == 4
    )
    assert row["n_refit"] == row["n_train"] + row["n_validation"] + row["n_test"]


def test_test_metrics_describe_the_model_chosen_before_the_refit(features, trained):
    row = trained.registry_row
    test = features[features["as_of_date"] == np.datetime64(row["test_as_of_date"])]
    y = label_as_float(test[LABEL])
    before = classification_metrics(y, trained.model.predict_probability(test), row["threshold"])
    after = classification_metrics(
        y, trained.served_model.predict_probability(test), row["threshold"]
    )
    assert row["roc_auc"] == before["roc_auc"] and row["pr_auc"] == before["pr_auc"]
    # the refit has seen the test rows: measured on them it would look better
    assert after["roc_auc"] > before["roc_auc"]


def test_without_refit_the_chosen_model_is_served(features, trained):
    row = train_propensity_model(features, num_threads=THREADS, refit=False).registry_row
    assert row["model_json"] == trained.model.to_json()
    assert json.loads(row["refit_as_of_dates"]) == [] and row["n_refit"] == 0
    # the same choices and test metrics either way
    assert row["best_iteration"] == trained.registry_row["best_iteration"]
    assert row["roc_auc"] == trained.registry_row["roc_auc"]


def test_a_refit_is_a_function_of_its_inputs(features, trained):
    labelled = features[features[LABEL].notna()]
    y = label_as_float(labelled[LABEL])
    first = trained.model.refitted(labelled, y).booster_.model_to_string()
    assert trained.model.refitted(labelled, y).booster_.model_to_string() == first
