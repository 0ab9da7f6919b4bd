"""Training orchestration and daily assignment, as called by the dbt Python models."""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from .matching import DEFAULT_MAX_DISTANCE, SegmentMatch, match_segments
from .naming import name_segments
from .preprocessing import FeatureSpec, SegmentPreprocessor
from .segmenter import (
    Segmenter,
    check_enough_rows,
    minimum_rows,
    new_customer_mask,
    sample_indices,
)
from .selection import DEFAULT_GATE, choose_k, compare_algorithms, evaluate_k

OTHER_ALGORITHMS = ("gaussian_mixture", "bisecting_kmeans")

REGISTRY_COLUMNS = (
    "segment_model_id",
    "trained_at",
    "as_of_date",
    "algorithm",
    "k",
    "n_customers",
    "n_fit_rows",
    "silhouette",
    "stability_ari",
    "davies_bouldin",
    "calinski_harabasz",
    "smallest_segment_share",
    "passed_quality_gate",
    "gate_json",
    "preprocessing_json",
    "centroids_json",
    "segments_json",
    "model_json",
    "k_selection_json",
    "algorithm_comparison_json",
    "features_json",
    "dropped_features_json",
    "library_versions_json",
    "matched_to_model_id",
)

ASSIGNMENT_COLUMNS = (
    "customer_id",
    "as_of_date",
    "segment_id",
    "segment_name",
    "distance_to_centroid",
    "segment_model_id",
)


@dataclass
class SegmenterTrainingResult:
    """What :func:`train_segmenter` returns.

    model : the fitted Segmenter (ids, names and training metadata set).
    registry_row : flat dict of JSON-serialisable scalars, one model-registry row.
    k_selection : per-k KMeans table; algorithm_comparison : per-algorithm table.
    matches : per-segment matching to the previous model (None without one).
    """

    model: Segmenter
    registry_row: dict
    k_selection: list[dict] = field(default_factory=list)
    algorithm_comparison: list[dict] = field(default_factory=list)
    matches: list[SegmentMatch] | None = None


def library_versions() -> dict[str, str]:
    # scipy and scikit-learn are imported by the training code that needs them,
    # not at module import: the daily assign_segments uses neither.
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
    }


def _single_as_of_date(features: pd.DataFrame) -> str | None:
    if "as_of_date" not in features.columns:
        return None
    dates = features["as_of_date"].dropna().unique()
    if len(dates) > 1:
        raise ValueError(
            f"Segments are trained on one snapshot, but the table has {len(dates)} as_of_date "
            "values; filter it to a single as_of_date first."
        )
    if len(dates) == 0:
        return None
    d = dates[0]
    if isinstance(d, datetime | pd.Timestamp):
        return d.date().isoformat()
    if isinstance(d, date):
        return d.isoformat()
    return str(pd.Timestamp(d).date())


def _json_safe(x):
    """NaN/inf -> None, numpy scalars -> Python, recursively."""
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_json_safe(v) for v in x]
    if isinstance(x, np.bool_ | bool):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return float(x) if np.isfinite(x) else None
    return x


def _dumps(x) -> str:
    return json.dumps(_json_safe(x), allow_nan=False)


def train_segmenter(
    features: pd.DataFrame,
    *,
    previous_model_json: str | None = None,
    k_values=range(3, 9),
    n_bootstrap: int = 10,
    seed: int = 42,
    gate: dict | None = None,
    n_init: int = 10,
    max_fit_rows: int | None = 50_000,
    silhouette_rows: int = 10_000,
    stability_rows: int | None = 20_000,
    bootstrap_n_init: int = 3,
    compare_with=OTHER_ALGORITHMS,
    max_match_distance: float = DEFAULT_MAX_DISTANCE,
    preprocessor: SegmentPreprocessor | None = None,
    feature_specs: tuple[FeatureSpec, ...] | None = None,
    trained_at: datetime | None = None,
    n_threads: int | None = 1,
    new_customer_days: int | None = None,
) -> SegmenterTrainingResult:
    """Train the customer segmenter on one snapshot of customer_features.

    Parameters
    ----------
    features : DataFrame, one row per customer at a single as_of_date.
    previous_model_json : the current production model's JSON; its segment ids
        and names are carried over to the matching new segments.
    k_values : numbers of segments to try (KMeans).
    n_bootstrap : resamples for the stability (ARI) estimate, >= 10 advised.
    seed : seeds sampling, KMeans and bootstraps (same input -> same model).
    gate : quality thresholds (see ``selection.DEFAULT_GATE``); missing keys
        take the default.
    n_init : KMeans restarts of each fitted model.
    max_fit_rows, silhouette_rows, stability_rows : sample sizes for fitting,
        for the silhouette (quadratic cost) and for the bootstrap refits.
    bootstrap_n_init : restarts per bootstrap refit (kept low: 10 refits per k).
    feature_specs : the features to cluster on (:func:`feature_specs_from_catalog`);
        needed unless ``preprocessor`` is given.
    trained_at : timestamp to record (UTC now if None).
    new_customer_days : customers with tenure_days below this are not
        clustered; they form the "New customers" segment (id 0). None = off.
    n_threads : native (OpenMP/BLAS) threads for the fits; None = library
        default. One thread by default: on shared cores (dbt threads, other
        jobs) OpenMP's busy-waiting made KMeans ~10x slower than one thread.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n_threads):
        return _train(
            features,
            previous_model_json=previous_model_json,
            k_values=k_values,
            n_bootstrap=n_bootstrap,
            seed=seed,
            gate=gate,
            n_init=n_init,
            max_fit_rows=max_fit_rows,
            silhouette_rows=silhouette_rows,
            stability_rows=stability_rows,
            bootstrap_n_init=bootstrap_n_init,
            compare_with=compare_with,
            max_match_distance=max_match_distance,
            preprocessor=preprocessor,
            feature_specs=feature_specs,
            trained_at=trained_at,
            new_customer_days=new_customer_days,
        )


def _train(
    features: pd.DataFrame,
    *,
    previous_model_json,
    k_values,
    n_bootstrap,
    seed,
    gate,
    n_init,
    max_fit_rows,
    silhouette_rows,
    stability_rows,
    bootstrap_n_init,
    compare_with,
    max_match_distance,
    preprocessor,
    feature_specs,
    trained_at,
    new_customer_days,
) -> SegmenterTrainingResult:
    if not isinstance(features, pd.DataFrame) or len(features) == 0:
        raise ValueError("train_segmenter needs a non-empty customer_features DataFrame.")
    gate = {**DEFAULT_GATE, **(gate or {})}
    k_values = sorted({int(k) for k in k_values})
    if not k_values or k_values[0] < 2:
        raise ValueError("k_values must contain numbers of segments >= 2.")
    as_of_date = _single_as_of_date(features)
    trained_at = (trained_at or datetime.now(UTC)).astimezone(UTC)

    # k, scaling and the clusters are chosen on the customers the rule does not
    # set apart (Segmenter.fit leaves out the same rows).
    is_new = new_customer_mask(features, new_customer_days)
    established = features.loc[~is_new] if is_new.any() else features
    if preprocessor is None and not feature_specs:
        raise ValueError(
            "train_segmenter needs the features to cluster on: feature_specs (from "
            "feature_catalog, feature_specs_from_catalog) or a preprocessor"
        )
    pre = preprocessor or SegmentPreprocessor(feature_specs)
    if not hasattr(pre, "columns_"):
        pre = pre.fit(established)
    X = pre.transform(established)
    if len(X) < minimum_rows(k_values[-1]):
        raise ValueError(
            f"Too few customers to try up to {k_values[-1]} segments: got {len(X)}, need at "
            f"least {minimum_rows(k_values[-1])}. Pass smaller k_values or more customers."
        )
    fit_idx = sample_indices(len(X), max_fit_rows, seed)
    X_fit = X[fit_idx]
    check_enough_rows(X_fit, k_values[-1])
    sil_idx = sample_indices(len(X_fit), silhouette_rows, seed + 1)

    k_rows = evaluate_k(
        X_fit,
        k_values,
        n_bootstrap=n_bootstrap,
        random_state=seed,
        n_init=n_init,
        silhouette_idx=sil_idx,
        gate=gate,
        bootstrap_n_init=bootstrap_n_init,
        stability_rows=stability_rows,
    )
    k, passed = choose_k(k_rows, gate)
    kmeans_row = next(r for r in k_rows if r["k"] == k)

    model = Segmenter(
        k,
        preprocessor=pre,
        random_state=seed,
        n_init=n_init,
        max_fit_rows=max_fit_rows,
        new_customer_days=new_customer_days,
    ).fit(features, X=X)

    comparison = compare_algorithms(
        X_fit,
        k,
        algorithms=("kmeans", *compare_with),
        n_bootstrap=n_bootstrap,
        random_state=seed,
        n_init=n_init,
        silhouette_idx=sil_idx,
        gate=gate,
        precomputed={"kmeans": kmeans_row},
        bootstrap_n_init=bootstrap_n_init,
        stability_rows=stability_rows,
    )

    matches = None
    matched_to = None
    if previous_model_json is not None:
        previous = Segmenter.from_json(previous_model_json)
        matched_to = previous.metadata_.get("segment_model_id")
        matches = match_segments(previous, model, max_distance=max_match_distance)
        profiles = [
            {k_: v for k_, v in s.items() if k_ not in ("segment_id", "name", "description")}
            for s in model.segments_
        ]
        fixed = {m.new_index: m.previous_name for m in matches if m.matched}
        named = name_segments(profiles, model.base_profile_, fixed_names=fixed)
        model.segments_ = [
            {"segment_id": m.segment_id, "name": n, "description": d, **p}
            for m, (n, d), p in zip(matches, named, profiles, strict=True)
        ]

    metrics = {
        "silhouette": kmeans_row["silhouette"],
        "stability_ari": kmeans_row["stability_ari"],
        "davies_bouldin": kmeans_row["davies_bouldin"],
        "calinski_harabasz": kmeans_row["calinski_harabasz"],
        "smallest_segment_share": kmeans_row["smallest_segment_share"],
    }
    model.metadata_ = _json_safe(
        {
            "segment_model_id": None,
            "trained_at": trained_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "as_of_date": as_of_date,
            "n_customers": int(len(features)),
            "n_fit_rows": int(len(fit_idx)),
            "metrics": metrics,
            "passed_quality_gate": passed,
            "gate": gate,
            "k_selection": k_rows,
            "algorithm_comparison": comparison,
            "matched_to_model_id": matched_to,
            "segment_matches": None if matches is None else [m.__dict__ for m in matches],
            "library_versions": library_versions(),
        }
    )
    digest = hashlib.sha256(model.to_json(sort_keys=True).encode()).hexdigest()[:8]
    model_id = f"seg_{trained_at:%Y%m%dT%H%M%SZ}_{digest}"
    model.metadata_["segment_model_id"] = model_id

    model_json = model.to_json()
    segments_summary = [
        {
            "segment_id": s["segment_id"],
            "name": s["name"],
            "description": s["description"],
            "size": s["size"],
            "share": s["share"],
            "feature_means": s["feature_means"],
        }
        for s in model.all_segments_
    ]
    row = {
        "segment_model_id": model_id,
        "trained_at": model.metadata_["trained_at"],
        "as_of_date": as_of_date,
        "algorithm": model.algorithm,
        "k": int(k),
        "n_customers": int(len(features)),
        "n_fit_rows": int(len(fit_idx)),
        **_json_safe(metrics),
        "passed_quality_gate": bool(passed),
        "gate_json": _dumps(gate),
        "preprocessing_json": _dumps(pre.to_dict()),
        "centroids_json": _dumps(model.centroids_.tolist()),
        "segments_json": _dumps(segments_summary),
        "model_json": model_json,
        "k_selection_json": _dumps(k_rows),
        "algorithm_comparison_json": _dumps(comparison),
        "features_json": _dumps(pre.feature_names_out_),
        "dropped_features_json": _dumps(pre.dropped_features_),
        "library_versions_json": _dumps(library_versions()),
        "matched_to_model_id": matched_to,
    }
    assert tuple(row) == REGISTRY_COLUMNS
    return SegmenterTrainingResult(
        model=model,
        registry_row=row,
        k_selection=model.metadata_["k_selection"],
        algorithm_comparison=model.metadata_["algorithm_comparison"],
        matches=matches,
    )


def assign_segments(features: pd.DataFrame, model_json: str | Segmenter) -> pd.DataFrame:
    """Assign every customer of ``features`` to a segment of the stored model.

    Returns a DataFrame with one row per input row (same order):
    customer_id, as_of_date, segment_id (int64), segment_name (string),
    distance_to_centroid (float64, scaled units; drift monitoring) and
    segment_model_id.
    """
    model = model_json if isinstance(model_json, Segmenter) else Segmenter.from_json(model_json)
    if "customer_id" not in features.columns:
        raise ValueError("assign_segments needs a customer_id column.")
    segment_ids, names, dist = model.assign_with_rule(features)
    as_of = (
        features["as_of_date"]
        if "as_of_date" in features.columns
        else pd.Series(None, index=features.index, dtype=object)
    )
    return pd.DataFrame(
        {
            "customer_id": features["customer_id"],
            "as_of_date": as_of,
            "segment_id": segment_ids.astype(np.int64),
            "segment_name": pd.array(names, dtype="string"),
            "distance_to_centroid": dist,
            "segment_model_id": model.metadata_.get("segment_model_id"),
        },
        index=features.index,
    )
