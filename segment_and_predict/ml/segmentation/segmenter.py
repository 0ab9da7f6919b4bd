"""The segmenter model: preprocessing + centroids + named segments, as JSON.

Assignment is "nearest centroid in the scaled space", done in numpy, so the
daily job needs only the JSON (no pickle, no scikit-learn object) and the
labels from a loaded model equal the labels computed at training.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from .naming import compute_profiles, name_segments
from .preprocessing import SegmentPreprocessor
from .selection import fit_predict

SCHEMA_VERSION = 1
MODEL_TYPE = "segment_and_predict.segmenter"

# Customers who signed up less than ``new_customer_days`` before the snapshot
# have too little history for their behaviour to place them: a rule in front of
# the clustering gives them this segment (KMeans ids start at 1, so 0 is free).
NEW_CUSTOMER_SEGMENT_ID = 0
NEW_CUSTOMER_SEGMENT_NAME = "New customers"

# Rows per block in nearest-centroid search: bounds memory to ~ block x k x d floats.
_BLOCK_ROWS = 65_536


def nearest_centroid(X: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centroid and the Euclidean distance to it.

    X : (n, d) scaled rows; centroids : (k, d). Returns (labels (n,) int64,
    distances (n,) float64). Ties go to the lower index.
    """
    n = len(X)
    labels = np.empty(n, dtype=np.int64)
    dist = np.empty(n, dtype=np.float64)
    for start in range(0, n, _BLOCK_ROWS):
        block = X[start : start + _BLOCK_ROWS]
        # Explicit differences (not the |x|^2 - 2xc + |c|^2 trick): exact and
        # identical wherever the model is loaded.
        d2 = ((block[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
        idx = d2.argmin(axis=1)
        labels[start : start + len(block)] = idx
        dist[start : start + len(block)] = np.sqrt(d2[np.arange(len(block)), idx])
    return labels, dist


def new_customer_mask(features: pd.DataFrame, new_customer_days: int | None) -> np.ndarray:
    """(n,) bool: the rows whose ``tenure_days`` is below ``new_customer_days``.

    All False when the rule is off (None) or the features have no tenure.
    """
    if new_customer_days is None or "tenure_days" not in features.columns:
        return np.zeros(len(features), dtype=bool)
    tenure = pd.to_numeric(features["tenure_days"], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    return tenure < new_customer_days


def new_customer_description(days: int, profile: dict) -> str:
    """The plain sentence for the new-customer segment."""
    return (
        f"{NEW_CUSTOMER_SEGMENT_NAME}: signed up in the last {days} days "
        f"({profile.get('share', 0.0):.0%} of customers), too new to judge by their history; "
        "they get onboarding, never win-back or reactivation."
    )


def sample_indices(n_rows: int, max_rows: int | None, seed: int) -> np.ndarray:
    """Sorted random subset of ``range(n_rows)`` of size ``min(n_rows, max_rows)``."""
    if max_rows is None or n_rows <= max_rows:
        return np.arange(n_rows)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, size=max_rows, replace=False))


def minimum_rows(n_clusters: int) -> int:
    """Fewest customers accepted to fit ``n_clusters`` segments."""
    return max(10 * n_clusters, 30)


def check_enough_rows(X: np.ndarray, n_clusters: int) -> None:
    need = minimum_rows(n_clusters)
    if len(X) < need:
        raise ValueError(
            f"Too few customers to build {n_clusters} segments: got {len(X)}, need at least {need}."
        )
    n_distinct = len(np.unique(np.round(X, 9), axis=0))
    if n_distinct < n_clusters:
        raise ValueError(
            f"Only {n_distinct} distinct customer profiles after preprocessing; "
            f"cannot build {n_clusters} segments."
        )


class Segmenter:
    """KMeans customer segmentation with JSON persistence.

    Parameters
    ----------
    n_clusters : int, default=5
    preprocessor : SegmentPreprocessor, optional
        Fitted or unfitted; a default one is created and fitted if None or
        unfitted.
    random_state : int, default=42
    n_init : int, default=10
        KMeans restarts.
    max_fit_rows : int or None, default=50_000
        KMeans is fitted on a random sample of this many customers; every
        customer is then assigned to the nearest centroid.
    new_customer_days : int or None, default=None
        Customers with ``tenure_days`` below this are not clustered: they form
        the segment ``NEW_CUSTOMER_SEGMENT_ID`` ("New customers"), at fit and
        at assignment. None = no such rule.

    Attributes
    ----------
    preprocessor_ : SegmentPreprocessor
    centroids_ : ndarray (k, n_features) in the scaled space; row i is segment
        ``segments_[i]``.
    segments_ : list of dict (segment_id, name, description, size, share,
        feature_means, dimensions, categorical), in centroid order.
    new_customer_segment_ : dict (the same keys) or None, the rule's segment.
    base_profile_ : dict, the same description for all customers.
    labels_ : ndarray (n_rows,) centroid index of each training row.
    metadata_ : dict of extra JSON-serialisable facts stored with the model
        (metrics, k table, algorithm comparison, ids, dates).
    """

    algorithm = "kmeans"

    def __init__(
        self,
        n_clusters: int = 5,
        *,
        preprocessor: SegmentPreprocessor | None = None,
        random_state: int = 42,
        n_init: int = 10,
        max_fit_rows: int | None = 50_000,
        new_customer_days: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.preprocessor = preprocessor
        self.random_state = random_state
        self.n_init = n_init
        self.max_fit_rows = max_fit_rows
        self.new_customer_days = new_customer_days

    # ------------------------------------------------------------------ fit
    def fit(self, features: pd.DataFrame, y=None, *, X: np.ndarray | None = None) -> Segmenter:
        """Fit on one snapshot of customer_features (customers x columns).

        New customers (``new_customer_days``) are left out of the clustering
        and described as their own segment. ``X`` may pass the already scaled
        matrix of the other rows (from a fitted ``preprocessor``) to avoid
        transforming twice.
        """
        is_new = new_customer_mask(features, self.new_customer_days)
        established = features.loc[~is_new] if is_new.any() else features
        pre = self.preprocessor
        if pre is None:
            raise ValueError(
                "A segmenter needs its preprocessor: SegmentPreprocessor(feature_specs), "
                "the features from feature_catalog (feature_specs_from_catalog)"
            )
        if not hasattr(pre, "columns_"):
            pre = pre.fit(established)
        self.preprocessor_ = pre
        if X is None:
            X = pre.transform(established)
        fit_idx = sample_indices(len(X), self.max_fit_rows, self.random_state)
        check_enough_rows(X[fit_idx], self.n_clusters)
        model, _ = fit_predict(
            X[fit_idx], "kmeans", self.n_clusters, self.random_state, self.n_init
        )
        centers = np.asarray(model.cluster_centers_, dtype=np.float64)
        labels, _ = nearest_centroid(X, centers)
        sizes = np.bincount(labels, minlength=self.n_clusters)
        # Largest segment first: ids 1..k then read in order of importance.
        order = np.argsort(-sizes, kind="stable")
        remap = np.empty_like(order)
        remap[order] = np.arange(len(order))
        self.centroids_ = centers[order]
        self.labels_ = remap[labels]
        # Profiles and shares over every customer; new ones, if the rule is on, as label k.
        all_labels = np.full(len(features), self.n_clusters, dtype=np.int64)
        all_labels[~is_new] = self.labels_
        n_profiles = self.n_clusters + (self.new_customer_days is not None)
        profiles, self.base_profile_ = compute_profiles(features, all_labels, n_profiles)
        profiles, new_profile = profiles[: self.n_clusters], profiles[self.n_clusters :]
        named = name_segments(profiles, self.base_profile_)
        self.segments_ = [
            {"segment_id": i + 1, "name": n, "description": d, **p}
            for i, ((n, d), p) in enumerate(zip(named, profiles, strict=True))
        ]
        self.new_customer_segment_ = (
            None
            if self.new_customer_days is None
            else {
                "segment_id": NEW_CUSTOMER_SEGMENT_ID,
                "name": NEW_CUSTOMER_SEGMENT_NAME,
                "description": new_customer_description(self.new_customer_days, new_profile[0]),
                **new_profile[0],
            }
        )
        self.metadata_ = {}
        return self

    # ------------------------------------------------------------ predict
    @property
    def input_columns_(self) -> list[str]:
        """The customer_features columns :meth:`assign_with_rule` reads (the keys aside):
        the preprocessor's sources and, with the new-customer rule, ``tenure_days``."""
        self._check_fitted()
        columns = {col["source"] for col in self.preprocessor_.columns_}
        if self.new_customer_days is not None:
            columns.add("tenure_days")
        return sorted(columns)

    def _check_fitted(self) -> None:
        if not hasattr(self, "centroids_"):
            raise ValueError("Segmenter is not fitted yet; call fit() or load it from JSON.")

    @property
    def segment_ids_(self) -> np.ndarray:
        """(k,) segment_id of each centroid row."""
        return np.array([s["segment_id"] for s in self.segments_], dtype=np.int64)

    def assign(self, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(centroid index (n,), distance to that centroid (n,)) per customer."""
        self._check_fitted()
        return nearest_centroid(self.preprocessor_.transform(features), self.centroids_)

    @property
    def all_segments_(self) -> list[dict]:
        """Every segment a customer can get: the clusters, then the new-customer rule's."""
        extra = getattr(self, "new_customer_segment_", None)
        return [*self.segments_, *([extra] if extra else [])]

    def assign_with_rule(self, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(segment_id (n,) int64, segment name (n,) object, distance (n,)) per customer.

        New customers get ``NEW_CUSTOMER_SEGMENT_ID`` and a NaN distance (no
        centroid describes them); everyone else the nearest centroid's segment.
        """
        idx, dist = self.assign(features)
        ids = self.segment_ids_[idx]
        names = np.array([s["name"] for s in self.segments_], dtype=object)[idx]
        is_new = new_customer_mask(features, self.new_customer_days)
        if is_new.any():
            ids[is_new] = NEW_CUSTOMER_SEGMENT_ID
            names[is_new] = NEW_CUSTOMER_SEGMENT_NAME
            dist = np.where(is_new, np.nan, dist)
        return ids, names, dist

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """segment_id (n,) int64 per customer."""
        return self.assign_with_rule(features)[0]

    # ---------------------------------------------------------------- JSON
    def to_dict(self) -> dict:
        self._check_fitted()
        return {
            "schema_version": SCHEMA_VERSION,
            "model_type": MODEL_TYPE,
            "algorithm": self.algorithm,
            "k": int(len(self.centroids_)),
            "params": {
                "n_clusters": self.n_clusters,
                "random_state": self.random_state,
                "n_init": self.n_init,
                "max_fit_rows": self.max_fit_rows,
                "new_customer_days": self.new_customer_days,
            },
            "preprocessing": self.preprocessor_.to_dict(),
            "feature_names": list(self.preprocessor_.feature_names_out_),
            "centroids": self.centroids_.tolist(),
            "segments": self.segments_,
            "new_customer_segment": getattr(self, "new_customer_segment_", None),
            "base_profile": self.base_profile_,
            **self.metadata_,
        }

    def to_json(self, **kwargs) -> str:
        """The full model as a JSON string (floats round-trip exactly)."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    @classmethod
    def from_dict(cls, d: dict) -> Segmenter:
        if d.get("model_type") != MODEL_TYPE:
            raise ValueError("This JSON is not a segment_and_predict segmenter model.")
        if d.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"Unsupported segmenter schema_version {d.get('schema_version')!r}.")
        params = d["params"]
        obj = cls(
            params["n_clusters"],
            random_state=params["random_state"],
            n_init=params["n_init"],
            max_fit_rows=params["max_fit_rows"],
            # models stored before the new-customer rule have none
            new_customer_days=params.get("new_customer_days"),
        )
        obj.preprocessor_ = SegmentPreprocessor.from_dict(d["preprocessing"])
        obj.centroids_ = np.asarray(d["centroids"], dtype=np.float64)
        obj.segments_ = d["segments"]
        obj.new_customer_segment_ = d.get("new_customer_segment")
        obj.base_profile_ = d["base_profile"]
        known = {
            "schema_version", "model_type", "algorithm", "k", "params", "preprocessing",
            "feature_names", "centroids", "segments", "new_customer_segment", "base_profile",
        }  # fmt: skip
        obj.metadata_ = {k: v for k, v in d.items() if k not in known}
        return obj

    @classmethod
    def from_json(cls, text: str) -> Segmenter:
        return cls.from_dict(json.loads(text))
