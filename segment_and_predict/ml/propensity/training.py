"""Training orchestration: split, fit the model and baselines, evaluate, build the registry row."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from segment_and_predict.ml.drift import feature_distributions, model_reference
from segment_and_predict.ml.propensity.baselines import (
    BgNbdBaseline,
    LogisticRegressionBaseline,
    RecencyFrequencyRule,
)
from segment_and_predict.ml.propensity.bootstrap import (
    compare_with_baselines,
    worse_than_a_baseline,
)
from segment_and_predict.ml.propensity.data import (
    AS_OF_DATE,
    CUSTOMER_ID,
    LABEL,
    FeatureEncoder,
    iso_date,
    label_as_float,
    split_snapshots,
)
from segment_and_predict.ml.propensity.explain import feature_importance
from segment_and_predict.ml.propensity.metrics import (
    METRIC_NAMES,
    calibration_table,
    classification_metrics,
    curve_points,
    gains_table,
    rank_percentile_and_decile,
)
from segment_and_predict.ml.propensity.model import PropensityModel, library_versions

DEFAULT_GATE = {"roc_auc": 0.82, "pr_auc": 0.45, "f1": 0.55}
# The model choice: a fixed grid of overrides of DEFAULT_PARAMS, tried in order,
# each early-stopped on the validation snapshot; the one with the best validation
# ROC-AUC is kept (ties: the earlier), so training stays deterministic. The
# default grid is DEFAULT_PARAMS alone. Measured (2026-12-05, docs/backtest.md):
# with MEASURED_GRID the default 240K data gained 0.0004 test ROC-AUC (0.8766 vs
# 0.8762) and PR-AUC (0.7624 vs 0.7620) for 252 s of training instead of 68 s (858
# trees at learning rate 0.05 won by 0.0001 on validation), and CDNOW's six
# walk-forward dates 0.0008 mean ROC-AUC, all within the noise of one date; a
# grid at the default learning rate (num_leaves 7 / depth 3; min_child_samples
# 400 with lambda_l2 10) gained nothing on CDNOW. Pass param_grid to try one.
PARAM_GRID: tuple[dict, ...] = ({},)
MEASURED_GRID: tuple[dict, ...] = (
    {},
    {"learning_rate": 0.05, "num_leaves": 7, "max_depth": 3},
    {"learning_rate": 0.05, "min_child_samples": 200},
)
# Metrics where lower is better; a gate on them is a maximum, not a minimum.
_LOWER_IS_BETTER = {"brier", "log_loss"}
SHAP_SAMPLE_ROWS = 2000


@dataclass
class TrainingResult:
    """Output of :func:`train_propensity_model`.

    Attributes
    ----------
    model : PropensityModel
        The model chosen on the out-of-time split, which the test metrics describe.
    served_model : PropensityModel
        The model stored in the registry and served: ``model`` refitted on every
        labelled snapshot (same trees count and threshold), or ``model`` itself
        when training ran with ``refit=False``.
    registry_row : dict
        Flat dict of scalars for the model registry (see ``train_propensity_model``).
    test_predictions : DataFrame
        Test rows: customer_id, as_of_date, label, propensity, propensity_decile,
        is_predicted_buyer, logreg_probability, rule_probability, bgnbd_probability.
    """

    model: PropensityModel
    registry_row: dict
    test_predictions: pd.DataFrame
    served_model: PropensityModel | None = None


def _json(value: object) -> str:
    """JSON text with NaN/inf as null (DuckDB's JSON reader rejects NaN)."""

    def clean(v: object) -> object:
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    return json.dumps(clean(value), allow_nan=False)


def parse_bool_var(name: str, value: object) -> bool:
    """A dbt var that must be true or false, as it reaches a Python model through config.

    dbt renders ``{{ var(...) }}`` into text ("True", "false", ...); anything
    other than true/false (any case) stops training with a message naming the var.
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise ValueError(f"The var {name} must be true or false; got {value!r}")


def beats_baselines(metrics: dict, baseline_metrics: dict[str, dict]) -> bool:
    """True when the model's roc_auc and pr_auc are strictly above every baseline's.

    A point comparison on the test rows, recorded for reading; the gate asks
    the noise-aware question instead (:func:`passes_quality_gate`).
    """
    beats = ("roc_auc", "pr_auc")
    return all(metrics[m] > b[m] for b in baseline_metrics.values() for m in beats)


def passes_quality_gate(
    metrics: dict,
    baseline_metrics: dict[str, dict],
    gate: dict,
    *,
    must_beat_baselines: bool = True,
    baseline_comparison: dict | None = None,
) -> bool:
    """True when every gate threshold holds and (by default) no baseline is better.

    ``gate`` maps metric names to minimum values (maximum for brier and log_loss).
    "No baseline is better" means, given ``baseline_comparison`` (the paired
    bootstrap of :func:`~segment_and_predict.ml.propensity.bootstrap.compare_with_baselines`,
    as training records it), that no baseline's ROC-AUC or PR-AUC is higher
    than the model's beyond the noise of the test rows (the interval of
    model - baseline lies entirely below zero): a tie passes. Without it, the
    point comparison of :func:`beats_baselines` decides.
    ``must_beat_baselines=False`` drops that last requirement, for a business
    whose only data is purchase history and where a recency/frequency rule is as
    good as any model (docs/bring_your_own_data.md).
    """
    for name, limit in gate.items():
        value = metrics[name]
        ok = value <= limit if name in _LOWER_IS_BETTER else value >= limit
        if not ok or math.isnan(value):
            return False
    if not must_beat_baselines:
        return True
    if baseline_comparison is not None:
        return not worse_than_a_baseline(baseline_comparison)
    return beats_baselines(metrics, baseline_metrics)


def train_propensity_model(
    features: pd.DataFrame,
    *,
    params: dict | None = None,
    num_threads: int = 2,
    gate: dict | None = None,
    seed: int = 42,
    exclude_features: tuple[str, ...] | list[str] = (),
    must_beat_baselines: bool = True,
    label: str = LABEL,
    refit: bool = True,
    param_grid: tuple[dict, ...] | list[dict] | None = None,
) -> TrainingResult:
    """Train, evaluate out of time and describe a purchase-propensity model.

    ``features`` is the customer_features table (rows: customer x as_of_date).
    The labelled snapshot dates, sorted, are split into TRAIN (all but the last
    two), VALIDATION (second to last: early stopping and thresholds) and TEST
    (last: metrics only). Rows with a null label are ignored. ``label`` is the
    label column (the default window's name by default; see segment_and_predict.ml.labels).

    ``gate`` maps metric names to minimum values (maximum for brier/log_loss);
    default ``DEFAULT_GATE``. The model passes when every gate holds and neither
    baseline is better on test roc_auc or pr_auc beyond the noise of the test
    rows (a paired bootstrap over test customers, fixed seed; the intervals go
    to ``baseline_comparison_json``); with ``must_beat_baselines=False`` the
    thresholds alone decide (the row still records ``beats_baselines``, the
    point comparison, and ``is_worse_than_a_baseline``).

    The parameters: ``params`` when given; otherwise each entry of
    ``param_grid`` (default :data:`PARAM_GRID`) is fitted and early-stopped on
    the validation rows, and the one with the best validation ROC-AUC is kept
    (every candidate's score goes to ``model_choice_json``).

    With ``refit`` (the default), once the number of trees and the threshold
    are chosen, the trees are grown again on every labelled snapshot (train,
    validation and test) and that refit is the model stored and served. The
    test metrics, gains, calibration, curves and the baseline comparison still
    describe the model chosen before the refit, on test rows it never saw: the
    refit has no held-out rows left to measure it (docs/model_comparison.md).

    Raises ValueError for missing key/label columns, no labelled rows, fewer than
    3 labelled snapshots, or a single class in train, validation or test.
    """
    gate = dict(DEFAULT_GATE if gate is None else gate)
    unknown = sorted(set(gate) - set(METRIC_NAMES))
    if unknown:
        raise ValueError(f"unknown gate metric(s) {unknown}; choose from {list(METRIC_NAMES)}")
    if not isinstance(must_beat_baselines, bool):
        raise ValueError(f"must_beat_baselines must be True or False, got {must_beat_baselines!r}")

    split = split_snapshots(features, label=label)
    y_train = label_as_float(split.train[label])
    y_val = label_as_float(split.validation[label])
    y_test = label_as_float(split.test[label])
    if len(np.unique(y_test)) < 2:
        raise ValueError(
            f"the test snapshot {iso_date(split.test_date)} has a single class; "
            "test metrics need buyers and non-buyers"
        )

    # Encoded once: the model, both baselines and the metrics use the same matrices.
    encoder = FeatureEncoder(exclude=tuple(exclude_features)).fit(split.train)
    X_train = encoder.transform(split.train)
    X_val = encoder.transform(split.validation)
    X_test = encoder.transform(split.test)
    # What is read later of the split's frames (every labelled row, all columns):
    # their dates and sizes, the test rows' keys and the training rows' feature
    # distributions (the drift reference). Dropped here, the frames do not sit
    # beside the encoded matrices through the fits (about 1.3 GB at 3M rows).
    train_dates, validation_date, test_date = (
        split.train_dates,
        split.validation_date,
        split.test_date,
    )
    n_train, n_validation, n_test = len(split.train), len(split.validation), len(split.test)
    test_keys = split.test[[CUSTOMER_ID, AS_OF_DATE]]
    train_feature_reference = feature_distributions(
        split.train, encoder, train_as_of_dates=[iso_date(d) for d in train_dates]
    )
    del split
    candidates = [params] if params is not None else list(param_grid or PARAM_GRID)
    if not candidates:
        raise ValueError("param_grid is empty: give at least one set of params")
    model, best, choice = None, -math.inf, []
    for candidate in candidates:
        fitted = PropensityModel(
            candidate, num_threads=num_threads, seed=seed, exclude_features=exclude_features
        ).fit(X_train, y_train, X_val, y_val, encoder=encoder)
        p_val = fitted.predict_probability(X_val)
        val_metrics = classification_metrics(y_val, p_val, fitted.threshold_)
        choice.append(
            {
                "params": dict(candidate or {}),
                "best_iteration": fitted.best_iteration_,
                "validation_roc_auc": val_metrics["roc_auc"],
                "validation_pr_auc": val_metrics["pr_auc"],
            }
        )
        if model is None or val_metrics["roc_auc"] > best:
            model, best = fitted, val_metrics["roc_auc"]
    for entry in choice:
        entry["chosen"] = entry["params"] == dict(model.params or {})

    logreg = LogisticRegressionBaseline(seed=seed).fit(X_train, y_train, X_val, y_val)
    rule = RecencyFrequencyRule(seed=seed).fit(X_train, y_train, X_val, y_val)
    bgnbd = BgNbdBaseline(seed=seed).fit(X_train, y_train, X_val, y_val)

    p_test = model.predict_probability(X_test)
    p_logreg = logreg.predict_probability(X_test)
    p_rule = rule.predict_probability(X_test)
    p_bgnbd = bgnbd.predict_probability(X_test)
    metrics = classification_metrics(y_test, p_test, model.threshold_)
    baseline_metrics = {
        logreg.name: classification_metrics(y_test, p_logreg, logreg.threshold_),
        rule.name: classification_metrics(y_test, p_rule, rule.threshold_),
        bgnbd.name: classification_metrics(y_test, p_bgnbd, bgnbd.threshold_),
    }
    baseline_metrics[rule.name]["signals"] = list(rule.signals_)
    comparison = compare_with_baselines(
        y_test,
        p_test,
        {logreg.name: p_logreg, rule.name: p_rule, bgnbd.name: p_bgnbd},
        seed=seed,
    )

    # Trees and threshold are chosen and measured; grow the trees again on every
    # labelled date, so the served model has seen the latest behaviour.
    served = model
    refit_dates: list = []
    if refit:
        X_refit = pd.concat([X_train, X_val, X_test])
        del X_train, X_val  # not read again: one copy of the rows less during the refit
        served = model.refitted(X_refit, np.concatenate([y_train, y_val, y_test]))
        del X_refit
        refit_dates = [*train_dates, validation_date, test_date]
    p_served_test = p_test if served is model else served.predict_probability(X_test)

    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(X_test), min(SHAP_SAMPLE_ROWS, len(X_test)), replace=False))
    importance = feature_importance(served, X_test.iloc[sample])
    curves = (
        curve_points(y_test, p_test, "lightgbm")
        + curve_points(y_test, p_logreg, logreg.name)
        + curve_points(y_test, p_rule, rule.name)
        + curve_points(y_test, p_bgnbd, bgnbd.name)
    )

    model_json = served.to_json()
    trained_at = datetime.now(UTC)
    model_hash = hashlib.sha256(served.booster_.model_to_string().encode()).hexdigest()[:8]
    row = {
        "model_id": f"prop_{trained_at:%Y%m%dT%H%M%SZ}_{model_hash}",
        "trained_at": trained_at,
        "label_column": label,
        "train_as_of_dates": _json([iso_date(d) for d in train_dates]),
        "validation_as_of_date": iso_date(validation_date),
        "test_as_of_date": iso_date(test_date),
        "n_train": n_train,
        "n_validation": n_validation,
        "n_test": n_test,
        "refit_as_of_dates": _json([iso_date(d) for d in refit_dates]),
        "n_refit": n_train + n_validation + n_test if refit else 0,
        "test_positive_rate": metrics["positive_rate"],
        "n_features": len(model.features_),
        "params_json": _json(model.params_),
        "model_choice_json": _json(choice),
        "features_json": _json(model.features_),
        "dropped_features_json": _json(
            [{"feature": k, "reason": v} for k, v in encoder.dropped_features_.items()]
        ),
        "library_versions_json": _json(library_versions()),
        "model_json": model_json,
        "threshold": served.threshold_,
        **{name: metrics[name] for name in METRIC_NAMES},
        "baseline_metrics_json": _json(baseline_metrics),
        **{
            f"{prefix}_{m}": baseline_metrics[name][m]
            for prefix, name in (
                ("logreg", logreg.name),
                ("rule", rule.name),
                ("bgnbd", bgnbd.name),
            )
            for m in ("roc_auc", "pr_auc", "f1")
        },
        "best_iteration": model.best_iteration_,
        "beats_baselines": beats_baselines(metrics, baseline_metrics),
        "baseline_comparison_json": _json(comparison),
        "is_worse_than_a_baseline": worse_than_a_baseline(comparison),
        "passed_quality_gate": passes_quality_gate(
            metrics,
            baseline_metrics,
            gate,
            must_beat_baselines=must_beat_baselines,
            baseline_comparison=comparison,
        ),
        "gate_json": _json({**gate, "must_beat_baselines": must_beat_baselines}),
        "gains_json": _json(gains_table(y_test, p_test)),
        "calibration_json": _json(calibration_table(y_test, p_test)),
        "feature_importance_json": _json(importance),
        "curves_json": _json(curves),
        "reference_distribution_json": _json(
            model_reference(
                None,
                encoder,
                p_served_test,
                train_as_of_dates=[iso_date(d) for d in train_dates],
                test_as_of_date=iso_date(test_date),
                features=train_feature_reference,
            )
        ),
    }

    _, decile = rank_percentile_and_decile(p_test)
    test_predictions = pd.DataFrame(
        {
            CUSTOMER_ID: test_keys[CUSTOMER_ID].to_numpy(),
            AS_OF_DATE: test_keys[AS_OF_DATE].to_numpy(),
            label: y_test.astype(bool),
            "propensity": p_test,
            "propensity_decile": decile,
            "is_predicted_buyer": p_test >= model.threshold_,
            "logreg_probability": p_logreg,
            "rule_probability": p_rule,
            "bgnbd_probability": p_bgnbd,
        }
    )
    return TrainingResult(
        model=model, registry_row=row, test_predictions=test_predictions, served_model=served
    )
