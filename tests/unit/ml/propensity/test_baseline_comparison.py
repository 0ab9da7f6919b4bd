"""The gate's baseline rule: model versus baselines beyond the noise of the test rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from segment_and_predict.ml.propensity import (
    beats_baselines,
    compare_with_baselines,
    passes_quality_gate,
    worse_than_a_baseline,
)
from segment_and_predict.ml.propensity.bootstrap import metrics_on_rows, resampled_metrics

GATE = {"roc_auc": 0.6, "pr_auc": 0.3, "f1": 0.0}


def _scores(n: int, seed: int, model_noise: float, baseline_noise: float):
    """Labels and two scores that see the same signal through different noise."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    y = (signal + rng.normal(size=n) > 0.5).astype(int)
    model = signal + model_noise * rng.normal(size=n)
    baseline = signal + baseline_noise * rng.normal(size=n)
    return y, model, baseline


def _metrics(y, scores):
    return {
        "roc_auc": roc_auc_score(y, scores),
        "pr_auc": average_precision_score(y, scores),
        "f1": 0.5,
    }


def test_small_data_resamples_are_exactly_the_customer_bootstrap():
    rng = np.random.default_rng(3)
    n = 600
    y = rng.integers(0, 2, n)
    tied = np.round(rng.random(n) + 0.3 * y, 2)  # many equal scores
    distinct = rng.random(n) + 0.2 * y
    resampled = resampled_metrics(y, {"tied": tied, "distinct": distinct}, n_resamples=5, seed=9)
    # the draws resampled_metrics makes: each row its own group, counts multinomial
    draw_rng = np.random.default_rng(9)
    counts = draw_rng.multinomial(n, np.full(n, 1.0 / n), size=5)
    for r in range(5):
        rows = np.repeat(np.arange(n), counts[r])
        for name, s in (("tied", tied), ("distinct", distinct)):
            assert resampled[name]["roc_auc"][r + 1] == pytest.approx(
                roc_auc_score(y[rows], s[rows]), abs=1e-12
            )
            assert resampled[name]["pr_auc"][r + 1] == pytest.approx(
                average_precision_score(y[rows], s[rows]), abs=1e-12
            )
    exact = metrics_on_rows(y, {"tied": tied})["tied"]
    assert exact["roc_auc"] == pytest.approx(roc_auc_score(y, tied), abs=1e-12)
    assert exact["pr_auc"] == pytest.approx(average_precision_score(y, tied), abs=1e-12)


def test_a_tie_within_noise_passes_the_gate():
    # The model is a hair behind the baseline on both metrics, as LightGBM
    # 0.7414 vs logistic regression 0.7420: a point comparison calls it a loss.
    y, model, baseline = _scores(4000, seed=3, model_noise=1.03, baseline_noise=1.0)
    metrics = _metrics(y, model)
    baseline_metrics = {"logistic_regression": _metrics(y, baseline)}
    assert metrics["roc_auc"] < baseline_metrics["logistic_regression"]["roc_auc"]
    assert metrics["roc_auc"] > baseline_metrics["logistic_regression"]["roc_auc"] - 0.01
    assert not beats_baselines(metrics, baseline_metrics)

    comparison = compare_with_baselines(y, model, {"logistic_regression": baseline})
    roc = comparison["baselines"]["logistic_regression"]["roc_auc"]
    assert roc["difference"] == pytest.approx(
        metrics["roc_auc"] - baseline_metrics["logistic_regression"]["roc_auc"], abs=1e-12
    )
    assert roc["lower"] < roc["difference"] < 0 < roc["upper"]
    assert not worse_than_a_baseline(comparison)
    assert passes_quality_gate(metrics, baseline_metrics, GATE, baseline_comparison=comparison)


def test_a_model_worse_beyond_noise_fails_the_gate_unless_not_required():
    y, model, baseline = _scores(4000, seed=2, model_noise=2.0, baseline_noise=0.5)
    metrics = _metrics(y, model)
    baseline_metrics = {"logistic_regression": _metrics(y, baseline)}
    comparison = compare_with_baselines(y, model, {"logistic_regression": baseline})
    entry = comparison["baselines"]["logistic_regression"]
    assert entry["roc_auc"]["upper"] < 0 and entry["roc_auc"]["is_worse_beyond_noise"]
    assert worse_than_a_baseline(comparison)
    assert not passes_quality_gate(metrics, baseline_metrics, GATE, baseline_comparison=comparison)
    assert passes_quality_gate(
        metrics, baseline_metrics, GATE, must_beat_baselines=False, baseline_comparison=comparison
    )


def test_grouped_and_bucketed_interval_matches_the_exact_customer_bootstrap():
    y, model, baseline = _scores(6000, seed=4, model_noise=0.9, baseline_noise=1.0)
    fast = compare_with_baselines(
        y, model, {"b": baseline}, n_resamples=400, max_groups=300, max_buckets=100
    )
    exact = compare_with_baselines(
        y, model, {"b": baseline}, n_resamples=400, max_groups=len(y), max_buckets=len(y)
    )
    assert fast["groups"] == 300 and exact["groups"] == len(y)
    for metric in ("roc_auc", "pr_auc"):
        f, e = fast["baselines"]["b"][metric], exact["baselines"]["b"][metric]
        assert f["difference"] == e["difference"]
        width_fast, width_exact = f["upper"] - f["lower"], e["upper"] - e["lower"]
        assert width_fast == pytest.approx(width_exact, rel=0.3)
        assert abs(f["lower"] - e["lower"]) < 0.3 * width_exact
        assert abs(f["upper"] - e["upper"]) < 0.3 * width_exact


def test_the_comparison_is_a_function_of_its_inputs():
    y, model, baseline = _scores(3000, seed=5, model_noise=1.0, baseline_noise=1.0)
    first = compare_with_baselines(y, model, {"b": baseline})
    assert compare_with_baselines(y, model, {"b": baseline}) == first
    assert first["resamples"] == 300 and first["confidence"] == 0.95 and first["seed"] == 42


def test_bad_arguments_are_refused_in_plain_words():
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="confidence must be between 0 and 1"):
        compare_with_baselines(y, y * 1.0, {"b": y * 1.0}, confidence=1.5)
    with pytest.raises(ValueError, match="have 3 rows, the labels 4"):
        compare_with_baselines(y, y * 1.0, {"b": np.ones(3)})
