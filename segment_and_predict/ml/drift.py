"""Drift maths: reference distributions, binning and the population stability index.

Pure functions of arrays and JSON-able dicts; :mod:`segment_and_predict.ml.monitoring`
reads the warehouse and builds the monitoring tables with them.

At training time the propensity model records, in its registry row, how its
inputs and its score were distributed (:func:`model_reference`): every feature
over the rows it was fit on, and the score over its held-out test rows. Each
daily run bins today's values into the same bins (:func:`bin_counts`) and
compares the shares with :func:`population_stability_index`. The reference is
compact JSON (decile edges or category levels, and counts), so a registry row
is self-contained: monitoring never needs the training rows again.

A distribution is a dict:

``{"kind": "numeric", "edges": [e_1, ..., e_m], "counts": [c_0, ..., c_m], "null_count": n}``
    Bin ``i`` holds values ``x`` with ``e_i < x <= e_(i+1)`` (``e_0 = -inf``,
    ``e_(m+1) = +inf``). The edges are the reference's distinct deciles, so a
    feature with many ties (e.g. mostly zero) has fewer bins.
``{"kind": "categorical", "levels": [...], "counts": [...], "other_count": o, "null_count": n}``
    One bin per level seen in the reference, one for any other value (new
    categories), one for missing.

Every distribution has a missing bin, so a feature that starts arriving empty
shows up as drift.

Calendar ages (:data:`CALENDAR_AGE_FEATURES`, e.g. ``tenure_days``) grow by one
a day whatever the customers do. Their reference is taken on the newest
training date alone (``aligned_to_date``), and today's values are moved back by
the days from that date to today before they are binned: what is compared is
when customers started (the cohort mix), not how many days have passed since
training. A shop that keeps signing customers up still sees its cohort mix
move a little every day (the customers who joined since training are new
ages), so a calendar age's drift warns but never fails the run
(``is_calendar_age`` in the drift table; docs/monitoring.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from segment_and_predict.data.values import AS_OF_DATE, as_text, to_float

REFERENCE_VERSION = 1
DEFAULT_BINS = 10
# Shares are floored at this value inside the PSI so an empty bin on one side
# gives a large but finite term (the usual convention; 1e-4 = 0.01%).
PSI_MIN_SHARE = 1e-4
NUMERIC = "numeric"
CATEGORICAL = "categorical"
MISSING_BIN = "missing"
OTHER_BIN = "other"

# The one declaration of the features that grow with the calendar by
# construction: ages in days counted from a fixed date of the customer
# (tenure_days = as_of_date - sign-up date; days_since_first_order = as_of_date
# - first order date). Their drift is measured after
# removing the calendar shift between the reference and today, and only warns
# (docs/monitoring.md). Recency (days_since_last_order) is not one: an order
# resets it, and a base that stops ordering is a real shift.
CALENDAR_AGE_FEATURES = ("tenure_days", "days_since_first_order")

# Column types are fixed, not inferred: an incremental table takes its types
# from its first run, which may have no rows (a model without a reference).
DRIFT_SCHEMA = pa.schema(
    [
        ("as_of_date", pa.date32()),
        ("model_id", pa.string()),
        ("feature", pa.string()),
        ("feature_kind", pa.string()),
        ("psi", pa.float64()),
        ("n_bins", pa.int64()),
        ("reference_rows", pa.int64()),
        ("current_rows", pa.int64()),
        ("reference_null_share", pa.float64()),
        ("current_null_share", pa.float64()),
        ("reference_mean", pa.float64()),
        ("current_mean", pa.float64()),
        ("largest_shift_bin", pa.string()),
        ("largest_shift_reference_share", pa.float64()),
        ("largest_shift_current_share", pa.float64()),
        ("bins_json", pa.string()),
        ("reference_as_of_dates", pa.string()),
        ("is_calendar_age", pa.bool_()),
        ("calendar_shift_days", pa.int64()),
    ]
)
SEGMENT_DRIFT_SCHEMA = pa.schema(
    [
        ("as_of_date", pa.date32()),
        ("segment_model_id", pa.string()),
        ("segment_id", pa.int64()),
        ("segment_name", pa.string()),
        ("reference_as_of_date", pa.date32()),
        ("reference_share", pa.float64()),
        ("current_customers", pa.int64()),
        ("current_share", pa.float64()),
        ("previous_as_of_date", pa.date32()),
        ("previous_customers", pa.int64()),
        ("previous_share", pa.float64()),
        ("share_change_vs_training", pa.float64()),
        ("share_change_vs_previous", pa.float64()),
        ("psi_vs_training", pa.float64()),
        ("psi_vs_previous", pa.float64()),
    ]
)


def numeric_distribution(values: pd.Series | np.ndarray, bins: int = DEFAULT_BINS) -> dict:
    """Reference distribution of a numeric column: distinct quantile edges and counts.

    ``bins`` quantile bins are asked for (deciles by default); edges that
    coincide (ties) are merged. All-missing input gives no edges and one bin.
    """
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    x = np.asarray(to_float(pd.Series(values)), dtype="float64")
    present = x[~np.isnan(x)]
    if len(present):
        quantiles = np.quantile(present, np.arange(1, bins) / bins)
        edges = np.unique(quantiles)
        # A top edge equal to the maximum would leave the last bin empty
        # (kept when it is the only edge, so a constant still has a bin above it).
        if len(edges) > 1 and edges[-1] >= present.max():
            edges = edges[:-1]
    else:
        edges = np.array([], dtype="float64")
    distribution = {"kind": NUMERIC, "edges": [float(e) for e in edges]}
    return _with_counts(distribution, x)


def categorical_distribution(values: pd.Series, levels: Sequence[str] | None = None) -> dict:
    """Reference distribution of a categorical column: one bin per level (sorted text)."""
    text = as_text(pd.Series(values))
    if levels is None:
        levels = sorted(text.dropna().unique().tolist())
    distribution = {"kind": CATEGORICAL, "levels": [str(level) for level in levels]}
    return _with_counts(distribution, values)


def bin_counts(distribution: dict, values: pd.Series | np.ndarray) -> dict:
    """``values`` binned into the bins of ``distribution``: the same dict with new counts."""
    return _with_counts(
        {k: v for k, v in distribution.items() if k in ("kind", "edges", "levels")}, values
    )


def _with_counts(distribution: dict, values: pd.Series | np.ndarray) -> dict:
    out = dict(distribution)
    if distribution["kind"] == NUMERIC:
        x = np.asarray(to_float(pd.Series(values)), dtype="float64")
        missing = np.isnan(x)
        edges = np.asarray(distribution["edges"], dtype="float64")
        # side="left": index i such that edges[i-1] < x <= edges[i]
        index = np.searchsorted(edges, x[~missing], side="left")
        out["counts"] = np.bincount(index, minlength=len(edges) + 1).astype(int).tolist()
        out["null_count"] = int(missing.sum())
        out["mean"] = float(x[~missing].mean()) if (~missing).any() else None
    elif distribution["kind"] == CATEGORICAL:
        series = pd.Series(values)
        # text columns (what DuckDB returns) are counted as they are; anything else
        # (numbers, booleans as categories) as the text as_text gives
        text = series if isinstance(series.dtype, pd.StringDtype) else as_text(series)
        missing = text.isna()
        counts = text[~missing].value_counts()
        levels = distribution["levels"]
        out["counts"] = [int(counts.get(level, 0)) for level in levels]
        out["other_count"] = int(counts.sum() - sum(out["counts"]))
        out["null_count"] = int(missing.sum())
    else:
        raise ValueError(f"unknown distribution kind {distribution['kind']!r}")
    return out


def bin_labels(distribution: dict) -> list[str]:
    """Readable labels of every bin, in the order of :func:`all_counts`."""
    if distribution["kind"] == NUMERIC:
        bounds = ["-inf", *(f"{e:.6g}" for e in distribution["edges"]), "inf"]
        closing = [*(["]"] * len(distribution["edges"])), ")"]
        pairs = zip(bounds[:-1], bounds[1:], closing, strict=True)
        labels = [f"({lo}, {hi}{c}" for lo, hi, c in pairs]
        return [*labels, MISSING_BIN]
    return [*distribution["levels"], OTHER_BIN, MISSING_BIN]


def all_counts(distribution: dict) -> np.ndarray:
    """Counts of every bin (the value bins, then other for categoricals, then missing)."""
    extra = [distribution["other_count"]] if distribution["kind"] == CATEGORICAL else []
    return np.asarray(
        [*distribution["counts"], *extra, distribution["null_count"]], dtype="float64"
    )


def population_stability_index(
    reference_counts: Sequence[float], current_counts: Sequence[float]
) -> float:
    """PSI = sum over bins of (current share - reference share) * ln(current / reference share).

    Shares are counts over their total, floored at ``PSI_MIN_SHARE``. 0 means
    identical shares; common readings: < 0.1 stable, 0.1-0.25 moderate shift,
    > 0.25 major shift. NaN when either side has no rows.
    """
    reference = np.asarray(reference_counts, dtype="float64")
    current = np.asarray(current_counts, dtype="float64")
    if reference.shape != current.shape:
        raise ValueError(
            f"reference and current need the same bins, got {reference.shape} and {current.shape}"
        )
    if reference.sum() <= 0 or current.sum() <= 0:
        return math.nan
    p = np.maximum(reference / reference.sum(), PSI_MIN_SHARE)
    q = np.maximum(current / current.sum(), PSI_MIN_SHARE)
    return float(np.sum((q - p) * np.log(q / p)))


def compare(name: str, reference: dict, values: pd.Series | np.ndarray) -> dict:
    """One drift row: PSI of ``values`` against ``reference``, the bins and the largest shift."""
    current = bin_counts(reference, values)
    ref_counts, cur_counts = all_counts(reference), all_counts(current)
    ref_rows, cur_rows = ref_counts.sum(), cur_counts.sum()
    ref_share = ref_counts / ref_rows if ref_rows else np.zeros_like(ref_counts)
    cur_share = cur_counts / cur_rows if cur_rows else np.zeros_like(cur_counts)
    labels = bin_labels(reference)
    largest = int(np.argmax(np.abs(cur_share - ref_share)))
    bins = [
        {
            "bin": label,
            "reference_count": int(r),
            "current_count": int(c),
            "reference_share": float(rs),
            "current_share": float(cs),
        }
        for label, r, c, rs, cs in zip(
            labels, ref_counts, cur_counts, ref_share, cur_share, strict=True
        )
    ]
    return {
        "feature": name,
        "feature_kind": reference["kind"],
        "psi": population_stability_index(ref_counts, cur_counts),
        "n_bins": len(labels),
        "reference_rows": int(ref_rows),
        "current_rows": int(cur_rows),
        "reference_null_share": float(ref_share[-1]),
        "current_null_share": float(cur_share[-1]),
        "reference_mean": reference.get("mean"),
        "current_mean": current.get("mean"),
        "largest_shift_bin": labels[largest],
        "largest_shift_reference_share": float(ref_share[largest]),
        "largest_shift_current_share": float(cur_share[largest]),
        "bins_json": json.dumps(bins),
    }


def model_reference(
    train_rows: pd.DataFrame | None,
    encoder,
    test_scores: np.ndarray,
    *,
    train_as_of_dates: Sequence[str],
    test_as_of_date: str,
    bins: int = DEFAULT_BINS,
    features: dict | None = None,
) -> dict:
    """The reference a propensity model is monitored against (stored in its registry row).

    ``features``: the distribution of every model feature over ``train_rows``
    (:func:`feature_distributions`; or given, already computed, with
    ``train_rows`` None). ``score``: the model's probabilities on its held-out
    test rows (the latest labelled snapshot) in decile bins.
    """
    if features is None:
        features = feature_distributions(
            train_rows, encoder, train_as_of_dates=train_as_of_dates, bins=bins
        )
    return {
        "version": REFERENCE_VERSION,
        "bins": bins,
        "feature_as_of_dates": list(train_as_of_dates),
        "score_as_of_date": test_as_of_date,
        "features": features,
        "score": numeric_distribution(np.asarray(test_scores), bins),
    }


def feature_distributions(
    train_rows: pd.DataFrame,
    encoder,
    *,
    train_as_of_dates: Sequence[str],
    bins: int = DEFAULT_BINS,
) -> dict:
    """The distribution of every model feature over ``train_rows`` (the rows the
    model was fit on), numeric ones in decile bins, categorical ones by the levels
    the encoder froze (``encoder``: a fitted propensity ``FeatureEncoder``; only its
    ``features_`` and ``categorical_levels_`` are read).

    Calendar ages (:data:`CALENDAR_AGE_FEATURES`) are binned over the rows of
    the newest of ``train_as_of_dates`` alone (``aligned_to_date``; pooling
    older dates would under-count the customers who joined between them),
    which needs the rows' ``as_of_date`` column.
    """
    aligned_to = max(train_as_of_dates) if len(train_as_of_dates) else None
    features = {}
    for name in encoder.features_:
        if name in encoder.categorical_levels_:
            features[name] = categorical_distribution(
                train_rows[name], encoder.categorical_levels_[name]
            )
        elif name in CALENDAR_AGE_FEATURES and aligned_to is not None:
            if AS_OF_DATE not in train_rows.columns:
                raise ValueError(
                    f"the training rows need their {AS_OF_DATE} to align the calendar age {name!r}"
                )
            on_date = days_after(train_rows[AS_OF_DATE], aligned_to) == 0
            features[name] = {
                **numeric_distribution(train_rows.loc[on_date, name], bins),
                "aligned_to_date": str(aligned_to),
            }
        else:
            features[name] = numeric_distribution(train_rows[name], bins)
    return features


def days_after(dates: pd.Series | object, reference_date: str) -> np.ndarray | int:
    """Whole days from ``reference_date`` (ISO text) to each of ``dates`` (negative before it)."""
    origin = pd.Timestamp(reference_date).normalize()
    if isinstance(dates, pd.Series):
        return (pd.to_datetime(dates).dt.normalize() - origin).dt.days.to_numpy(dtype="float64")
    return int((pd.Timestamp(dates).normalize() - origin).days)


def calendar_shift_days(distribution: dict, as_of_date: object) -> int | None:
    """Days to subtract from a calendar age on ``as_of_date`` to compare it with ``distribution``.

    None for a distribution that is not aligned to a date (every other feature,
    and calendar ages in references recorded before alignment existed).
    """
    aligned_to = distribution.get("aligned_to_date")
    if aligned_to is None:
        return None
    if as_of_date is None:
        raise ValueError("comparing a calendar age needs the date of today's rows (as_of_date)")
    return days_after(as_of_date, aligned_to)


def check_reference(reference: dict) -> dict:
    """Return ``reference`` when it is a model reference this code can read, else raise."""
    if not isinstance(reference, dict) or reference.get("version") != REFERENCE_VERSION:
        found = reference.get("version") if isinstance(reference, dict) else type(reference)
        raise ValueError(
            f"the model's reference distribution has version {found!r}; this code reads "
            f"version {REFERENCE_VERSION}. Retrain (`segment-and-predict build`) to record one."
        )
    return reference


def typed_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """``rows`` as an Arrow table of exactly ``schema``, even when there are none.

    NaN floats become nulls, so "not computable" reads as NULL in SQL.
    """

    def clean(value: object) -> object:
        return None if isinstance(value, float) and math.isnan(value) else value

    return pa.Table.from_pylist(
        [{name: clean(row.get(name)) for name in schema.names} for row in rows], schema=schema
    )


def feature_drift(
    reference: dict, current: pd.DataFrame, as_of_date: object | None = None
) -> list[dict]:
    """One drift row per model feature: today's values in ``current`` against the reference.

    ``as_of_date`` is the date of today's rows; a calendar age aligned in the
    reference is moved back by the days from its ``aligned_to_date`` to it
    before binning (``calendar_shift_days`` in the row). A feature of the
    reference that ``current`` lacks is an error (the model could not score
    either).
    """
    check_reference(reference)
    missing = [name for name in reference["features"] if name not in current.columns]
    if missing:
        raise ValueError(f"today's features lack column(s) the model was trained on: {missing}")
    dates = json.dumps(reference["feature_as_of_dates"])
    rows = []
    for name, dist in reference["features"].items():
        values = current[name]
        shift = calendar_shift_days(dist, as_of_date)
        if shift is not None:
            values = to_float(values).to_numpy(dtype="float64") - shift
        rows.append(
            {
                **compare(name, dist, values),
                "reference_as_of_dates": dates,
                "is_calendar_age": name in CALENDAR_AGE_FEATURES,
                "calendar_shift_days": shift,
            }
        )
    return rows


def score_drift(reference: dict, scores: np.ndarray | pd.Series) -> list[dict]:
    """One drift row: today's scores against the model's scores on its test rows."""
    check_reference(reference)
    dates = json.dumps([reference["score_as_of_date"]])
    row = compare("propensity", reference["score"], scores)
    return [{**row, "reference_as_of_dates": dates, "is_calendar_age": False}]


def segment_share_drift(
    reference_shares: dict[int, float],
    current_counts: dict[int, int],
    previous_counts: dict[int, int] | None = None,
) -> tuple[list[dict], float, float]:
    """Per-segment shares today against the segmenter's training shares and the previous day.

    Returns (rows, psi_vs_training, psi_vs_previous). Each row has segment_id,
    reference_share, current_customers, current_share, previous_customers,
    previous_share and the two share changes; a segment missing on one side
    has share 0 there. psi_vs_previous is NaN without a previous day.
    """
    ids = sorted(set(reference_shares) | set(current_counts) | set(previous_counts or {}))
    reference = np.array([reference_shares.get(i, 0.0) for i in ids], dtype="float64")
    current = np.array([current_counts.get(i, 0) for i in ids], dtype="float64")
    current_share = current / current.sum() if current.sum() else np.full(len(ids), np.nan)
    previous = None
    if previous_counts:
        previous = np.array([previous_counts.get(i, 0) for i in ids], dtype="float64")
    rows = []
    for n, segment_id in enumerate(ids):
        previous_share = previous[n] / previous.sum() if previous is not None else math.nan
        rows.append(
            {
                "segment_id": int(segment_id),
                "reference_share": float(reference[n]),
                "current_customers": int(current[n]),
                "current_share": float(current_share[n]),
                "previous_customers": int(previous[n]) if previous is not None else None,
                "previous_share": float(previous_share),
                "share_change_vs_training": float(current_share[n] - reference[n]),
                "share_change_vs_previous": float(current_share[n] - previous_share),
            }
        )
    psi_training = population_stability_index(reference, current)
    psi_previous = math.nan
    if previous is not None:
        psi_previous = population_stability_index(previous, current)
    return rows, psi_training, psi_previous


# ------------------------------------------------ reading the warehouse (dbt models)
