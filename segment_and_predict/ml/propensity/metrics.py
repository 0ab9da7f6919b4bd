"""Threshold choice, test metrics and the evaluation tables (gains, calibration, curves).

Scores are probabilities in [0, 1] (or, for the rule baseline, any monotone
score); labels are 0/1 arrays of shape (n_rows,). Tables are lists of dicts of
plain Python scalars so they can be stored as JSON and unnested in SQL.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

METRIC_NAMES = (
    "roc_auc",
    "pr_auc",
    "f1",
    "precision",
    "recall",
    "brier",
    "log_loss",
    "top_decile_lift",
)


def best_f1_threshold(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Score threshold t maximising F1 of the flag ``scores >= t``.

    Candidates are the distinct score values, so the result is one of ``scores``.
    Ties in F1 go to the highest threshold (fewest customers flagged).
    Raises ValueError when ``y_true`` has no positives (F1 is then undefined).
    """
    y = np.asarray(y_true, dtype="float64")
    s = np.asarray(scores, dtype="float64")
    n_pos = y.sum()
    if n_pos == 0:
        raise ValueError("cannot choose an F1 threshold: the validation rows have no positives")
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    tp = np.cumsum(y_sorted)
    # Only the last position of a run of equal scores is a reachable cut.
    last_of_run = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    flagged = np.arange(1, len(s) + 1)[last_of_run]
    f1 = 2.0 * tp[last_of_run] / (flagged + n_pos)
    return float(s_sorted[last_of_run][int(np.argmax(f1))])


def _confusion_rates(y: np.ndarray, flag: np.ndarray) -> tuple[float, float, float]:
    tp = float(np.sum(flag & (y == 1)))
    n_flag = float(flag.sum())
    n_pos = float(np.sum(y == 1))
    precision = tp / n_flag if n_flag else 0.0
    recall = tp / n_pos if n_pos else 0.0
    f1 = 2 * tp / (n_flag + n_pos) if (n_flag + n_pos) else 0.0
    return f1, precision, recall


def rank_percentile_and_decile(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank-based percentile (0-100], higher = more likely) and decile (1 = top 10%).

    Tied scores share the best rank of the tie, so equal scores always get the
    same percentile and decile and the top decile is never empty.
    Returns two arrays of shape (n_rows,): float percentiles and int deciles 1..10.
    """
    s = pd.Series(np.asarray(scores, dtype="float64"))
    n = len(s)
    if n == 0:
        return np.empty(0, dtype="float64"), np.empty(0, dtype="int64")
    rank_desc = s.rank(method="min", ascending=False).to_numpy()
    percentile = 100.0 * (n - rank_desc + 1) / n
    decile = np.ceil(10.0 * rank_desc / n).astype("int64")
    return percentile, decile


def top_decile_lift(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Positive rate among the top-decile scores divided by the overall positive rate."""
    y = np.asarray(y_true, dtype="float64")
    _, decile = rank_percentile_and_decile(scores)
    overall = y.mean()
    return float(y[decile == 1].mean() / overall) if overall > 0 else float("nan")


def ranking_metrics(y_true: np.ndarray, scores: np.ndarray) -> dict:
    """ROC-AUC and PR-AUC (average precision) of ``scores`` against the 0/1 ``y_true``.

    The one place both are computed (scikit-learn): test metrics at training, the
    backtest and realised performance in monitoring. Returns a dict with roc_auc
    and pr_auc, NaN where undefined: ROC-AUC without both buyers and non-buyers,
    PR-AUC without buyers (with only buyers it is 1).
    """
    y = np.asarray(y_true, dtype="float64")
    s = np.asarray(scores, dtype="float64")
    n_pos = float(y.sum())
    return {
        "roc_auc": float(roc_auc_score(y, s)) if 0 < n_pos < len(y) else math.nan,
        "pr_auc": float(average_precision_score(y, s)) if n_pos > 0 else math.nan,
    }


def classification_metrics(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """Test metrics for probability ``scores`` and the yes/no flag ``scores >= threshold``.

    Returns a dict with roc_auc, pr_auc (average precision), f1, precision, recall,
    brier, log_loss, top_decile_lift, threshold, n_rows and positive_rate.
    """
    y = np.asarray(y_true, dtype="float64")
    s = np.asarray(scores, dtype="float64")
    if len(np.unique(y)) < 2:
        raise ValueError("metrics need both buyers and non-buyers in the evaluated rows")
    flag = s >= threshold
    f1, precision, recall = _confusion_rates(y, flag)
    clipped = np.clip(s, 1e-15, 1 - 1e-15)
    return {
        **ranking_metrics(y, s),
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "brier": float(brier_score_loss(y, clipped)),
        "log_loss": float(log_loss(y, clipped, labels=[0.0, 1.0])),
        "top_decile_lift": top_decile_lift(y, s),
        "threshold": float(threshold),
        "n_rows": int(len(y)),
        "positive_rate": float(y.mean()),
    }


def gains_table(y_true: np.ndarray, scores: np.ndarray) -> list[dict]:
    """Gains and lift by score decile (decile 1 = highest scores).

    One dict per non-empty decile: decile, customers, buyers, positive_rate,
    cumulative_customers, cumulative_buyers, cumulative_share_of_buyers (0-1),
    lift, cumulative_lift, min_score, max_score.
    """
    y = np.asarray(y_true, dtype="float64")
    s = np.asarray(scores, dtype="float64")
    _, decile = rank_percentile_and_decile(s)
    overall = y.mean()
    total_buyers = y.sum()
    rows, cum_customers, cum_buyers = [], 0, 0.0
    for d in range(1, 11):
        mask = decile == d
        customers = int(mask.sum())
        if customers == 0:
            continue
        buyers = float(y[mask].sum())
        cum_customers += customers
        cum_buyers += buyers
        rate = buyers / customers
        cum_rate = cum_buyers / cum_customers
        rows.append(
            {
                "decile": d,
                "customers": customers,
                "buyers": int(buyers),
                "positive_rate": rate,
                "cumulative_customers": cum_customers,
                "cumulative_buyers": int(cum_buyers),
                "cumulative_share_of_buyers": cum_buyers / total_buyers if total_buyers else None,
                "lift": rate / overall if overall else None,
                "cumulative_lift": cum_rate / overall if overall else None,
                "min_score": float(s[mask].min()),
                "max_score": float(s[mask].max()),
            }
        )
    return rows


def calibration_table(
    y_true: np.ndarray, probabilities: np.ndarray, n_bins: int = 10
) -> list[dict]:
    """Reliability table over ``n_bins`` equal-width probability bins on [0, 1].

    One dict per non-empty bin: bin (1..n_bins), bin_lower, bin_upper,
    mean_predicted, observed_rate, count.
    """
    y = np.asarray(y_true, dtype="float64")
    p = np.asarray(probabilities, dtype="float64")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Bins are [lower, upper) except the last, which includes 1.0.
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        mask = index == b
        if not mask.any():
            continue
        rows.append(
            {
                "bin": b + 1,
                "bin_lower": float(edges[b]),
                "bin_upper": float(edges[b + 1]),
                "mean_predicted": float(p[mask].mean()),
                "observed_rate": float(y[mask].mean()),
                "count": int(mask.sum()),
            }
        )
    return rows


def _downsample(n: int, max_points: int) -> np.ndarray:
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_points)).astype("int64"))


def curve_points(
    y_true: np.ndarray, scores: np.ndarray, model: str, max_points: int = 200
) -> list[dict]:
    """ROC and precision-recall curve points, each downsampled to ~``max_points``.

    One dict per point: model, curve ('roc' or 'pr'), x (FPR or recall),
    y (TPR or precision), threshold (None where sklearn uses an infinite one).
    The first and last points of each curve are always kept.
    """
    y = np.asarray(y_true, dtype="float64")
    s = np.asarray(scores, dtype="float64")
    fpr, tpr, roc_thr = roc_curve(y, s)
    precision, recall, pr_thr = precision_recall_curve(y, s)
    # precision_recall_curve returns one threshold fewer than points (the last
    # point, recall 0, has none).
    pr_thr = np.r_[pr_thr, np.nan]
    rows = []
    for curve, xs, ys, thr in (
        ("roc", fpr, tpr, roc_thr),
        ("pr", recall, precision, pr_thr),
    ):
        for i in _downsample(len(xs), max_points):
            t = float(thr[i])
            rows.append(
                {
                    "model": model,
                    "curve": curve,
                    "x": float(xs[i]),
                    "y": float(ys[i]),
                    "threshold": t if math.isfinite(t) else None,
                }
            )
    return rows
