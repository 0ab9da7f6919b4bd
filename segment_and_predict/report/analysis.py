"""What the report derives from stored results and the serving models: pure functions.

- :func:`cutoff_counts` and :func:`contact_table`: the held-out test date at the
  stored threshold and at "contact the top N%" depths, from the registry row and
  ``propensity_gains`` (the serving model is refit on every labelled date, so
  re-scoring the test date with it would be in-sample; these use what was measured
  before the refit).
- :func:`driver_effects`: signed SHAP values of a sample of today's customers,
  with each feature's value rank, for the direction chart and the quintile table.
- :func:`projection_2d`: a deterministic 2-D principal-component projection of the
  segmenter's scaled space.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# "Contact the top N%" depths the cut-off view lists (multiples of a decile: the
# test figures come from propensity_gains, one row per score decile).
CONTACT_DEPTHS: tuple[int, ...] = (1, 2, 3, 5)  # deciles: top 10%, 20%, 30%, 50%
QUINTILES = 5


@dataclass(frozen=True)
class CutoffCounts:
    """Confusion counts on the test date at the stored threshold."""

    threshold: float
    customers: int
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int

    @property
    def contacted(self) -> int:
        return self.true_positives + self.false_positives

    @property
    def buyers(self) -> int:
        return self.true_positives + self.false_negatives


def cutoff_counts(
    n_test: float, positive_rate: float, precision: float, recall: float, threshold: float
) -> CutoffCounts | None:
    """Counts from the registry's test figures: buyers = n x rate, TP = recall x buyers,
    contacted = TP / precision. None when a figure is missing or the counts are impossible.
    """
    values = (n_test, positive_rate, precision, recall, threshold)
    if any(v is None or not np.isfinite(float(v)) for v in values):
        return None
    n = round(float(n_test))
    buyers = round(float(n_test) * float(positive_rate))
    tp = round(float(recall) * buyers)
    # no one contacted (precision 0 with no true positive) is possible; buyers reached without
    # contacts is not
    contacted = round(tp / float(precision)) if float(precision) > 0 else (0 if tp == 0 else -1)
    fp = contacted - tp
    fn = buyers - tp
    tn = n - buyers - fp
    if min(n, buyers, tp, fp, fn, tn) < 0:
        return None
    return CutoffCounts(float(threshold), n, tp, fp, fn, tn)


def contact_table(gains: pd.DataFrame, today_scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per depth in :data:`CONTACT_DEPTHS`: on the test date, customers contacted,
    buyers reached, precision, share of all buyers and lift; for today, customers in the
    same top share and the buyers the scores expect among them (sum of probabilities).

    ``gains``: ``propensity_gains`` rows of one model (score_decile 1 = highest).
    ``today_scores``: rows of ``share`` (0-1), ``customers`` and ``expected_buyers``
    for today's scores (see queries), or None.
    """
    g = gains.sort_values("score_decile")
    total_customers = float(g["customers"].sum())
    total_buyers = float(g["buyers"].sum())
    rows = []
    for depth in CONTACT_DEPTHS:
        top = g[g["score_decile"] <= depth]
        customers = float(top["customers"].sum())
        buyers = float(top["buyers"].sum())
        share = depth / 10
        row = {
            "share": share,
            "test_customers": int(customers),
            "test_buyers": int(buyers),
            "precision": buyers / customers if customers else np.nan,
            "share_of_buyers": buyers / total_buyers if total_buyers else np.nan,
            "lift": (buyers / customers) / (total_buyers / total_customers)
            if customers and total_buyers
            else np.nan,
            "today_customers": np.nan,
            "today_expected_buyers": np.nan,
        }
        if today_scores is not None and not today_scores.empty:
            match = today_scores[np.isclose(today_scores["share"], share)]
            if not match.empty:
                row["today_customers"] = float(match["customers"].iloc[0])
                row["today_expected_buyers"] = float(match["expected_buyers"].iloc[0])
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class DriverEffects:
    """Signed SHAP values (log-odds) of a sample of customers for the top features.

    ``shap[:, j]`` and ``value_rank[:, j]`` belong to ``features[j]``; value_rank is
    the value's percentile rank among the sample (0-1), NaN where the value is
    missing or the feature is categorical.
    """

    features: list[str]
    shap: np.ndarray
    value_rank: np.ndarray
    quintiles: pd.DataFrame  # feature, quintile (1 = lowest values), customers, mean_shap
    rows: int


def driver_effects(
    contributions: np.ndarray,
    frame: pd.DataFrame,
    feature_names: list[str],
    order: list[str],
    top: int = 10,
) -> DriverEffects:
    """Signed effects of the ``top`` features of ``order`` that the model has.

    ``contributions``: (n, len(feature_names) + 1) SHAP values (last column the
    expected value); ``frame``: the same n rows' raw feature values.
    """
    index = {name: j for j, name in enumerate(feature_names)}
    chosen = [f for f in order if f in index][:top]
    n = len(frame)
    shap = (
        np.column_stack([contributions[:, index[f]] for f in chosen])
        if chosen
        else np.empty((n, 0))
    )
    ranks = np.full((n, len(chosen)), np.nan)
    table = []
    for j, name in enumerate(chosen):
        values = pd.to_numeric(frame[name], errors="coerce") if name in frame.columns else None
        if values is None or not pd.api.types.is_numeric_dtype(frame[name]):
            continue
        ranks[:, j] = values.rank(pct=True, method="average").to_numpy(dtype="float64")
        known = values.notna().to_numpy()
        if known.sum() < QUINTILES:
            continue
        # quintiles of the value's rank (ties stay in one bin)
        bins = np.minimum((ranks[known, j] * QUINTILES - 1e-9).astype(int), QUINTILES - 1)
        for q in range(QUINTILES):
            in_bin = bins == q
            if in_bin.any():
                table.append(
                    {
                        "feature": name,
                        "quintile": q + 1,
                        "customers": int(in_bin.sum()),
                        "mean_value": float(values.to_numpy()[known][in_bin].mean()),
                        "mean_shap": float(shap[known, j][in_bin].mean()),
                    }
                )
        if (~known).any():
            table.append(
                {
                    "feature": name,
                    "quintile": 0,
                    "customers": int((~known).sum()),
                    "mean_value": np.nan,
                    "mean_shap": float(shap[~known, j].mean()),
                }
            )
    quintiles = pd.DataFrame(
        table, columns=["feature", "quintile", "customers", "mean_value", "mean_shap"]
    )
    return DriverEffects(chosen, shap, ranks, quintiles, n)


def projection_2d(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(points (n, 2), share of variance of each axis (2,)) of the first two principal
    components of ``X`` (n, d). Deterministic: each axis's sign makes its largest
    loading positive.
    """
    X = np.asarray(X, dtype="float64")
    if X.ndim != 2 or X.shape[0] < 3 or X.shape[1] < 2:
        raise ValueError("a projection needs at least 3 rows and 2 columns")
    centred = X - X.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2]
    signs = np.sign(axes[np.arange(2), np.abs(axes).argmax(axis=1)])
    signs[signs == 0] = 1
    axes = axes * signs[:, None]
    variance = singular**2
    share = variance[:2] / variance.sum() if variance.sum() > 0 else np.zeros(2)
    return centred @ axes.T, share
