"""Choosing the number of segments and checking the algorithm choice.

All functions work on the already preprocessed, scaled matrix ``X`` of shape
(n_rows, n_features). Callers pass a sample (tens of thousands of rows): the
quality figures are stable at that size and the search stays fast.
"""

from __future__ import annotations

import numpy as np

# scikit-learn is imported inside the functions that fit or score clusterings:
# the daily assignment (assign_segments) needs none of it, and importing it
# costs over a second, which the daily build paid in customer_segments.

ALGORITHMS = ("kmeans", "gaussian_mixture", "bisecting_kmeans")

DEFAULT_GATE = {
    "min_k": 4,
    "max_k": 8,
    "min_silhouette": 0.20,
    "min_stability": 0.75,
    "min_segment_share": 0.03,
}


def make_clusterer(algorithm: str, n_clusters: int, random_state: int, n_init: int = 10):
    """An unfitted scikit-learn clusterer with ``fit``/``predict``."""
    from sklearn.cluster import BisectingKMeans, KMeans
    from sklearn.mixture import GaussianMixture

    if algorithm == "kmeans":
        return KMeans(n_clusters=n_clusters, n_init=n_init, random_state=random_state)
    if algorithm == "gaussian_mixture":
        # Diagonal covariances: full ones on ~10 correlated RFM columns fit
        # elongated components that cut across the behavioural groups.
        return GaussianMixture(
            n_components=n_clusters, covariance_type="diag", random_state=random_state
        )
    if algorithm == "bisecting_kmeans":
        return BisectingKMeans(n_clusters=n_clusters, random_state=random_state)
    raise ValueError(f"Unknown algorithm {algorithm!r}; expected one of {ALGORITHMS}.")


def fit_predict(
    X: np.ndarray, algorithm: str, n_clusters: int, random_state: int, n_init: int = 10
) -> tuple[object, np.ndarray]:
    """Fit on ``X`` (n, d) and return (fitted model, labels (n,) int)."""
    model = make_clusterer(algorithm, n_clusters, random_state, n_init).fit(X)
    return model, np.asarray(model.predict(X), dtype=np.int64)


def clustering_stability(
    X: np.ndarray,
    n_clusters: int,
    *,
    algorithm: str = "kmeans",
    n_bootstrap: int = 10,
    random_state: int = 0,
    n_init: int = 3,
    reference_labels: np.ndarray | None = None,
    max_rows: int | None = 20_000,
) -> tuple[float, list[float]]:
    """Bootstrap stability of a clustering of ``X`` (n, d).

    The model is refit on ``n_bootstrap`` resamples (drawn with replacement)
    and each refit model labels the same rows; stability is the mean Adjusted
    Rand Index between those labels and ``reference_labels`` (the assignment
    by the model fitted on all of ``X``; computed here if not given).
    1 = the same segments every time, ~0 = no better than chance.

    To bound the cost, the resamples are drawn from a fixed random subset of
    ``max_rows`` rows, and the ARI is computed on that subset.
    ``n_init`` is the number of KMeans restarts per refit.

    Returns (mean ARI, list of per-resample ARIs).
    """
    from sklearn.metrics import adjusted_rand_score

    if n_bootstrap < 1:
        raise ValueError("n_bootstrap must be at least 1.")
    if reference_labels is None:
        _, reference_labels = fit_predict(X, algorithm, n_clusters, random_state, n_init)
    rng = np.random.default_rng(random_state)
    if max_rows is not None and len(X) > max_rows:
        subset = np.sort(rng.choice(len(X), size=max_rows, replace=False))
        X, reference_labels = X[subset], reference_labels[subset]
    aris = []
    for _ in range(n_bootstrap):
        idx = rng.integers(0, len(X), size=len(X))
        seed = int(rng.integers(0, 2**31 - 1))
        model = make_clusterer(algorithm, n_clusters, seed, n_init).fit(X[idx])
        aris.append(float(adjusted_rand_score(reference_labels, model.predict(X))))
    return float(np.mean(aris)), aris


def cluster_metrics(
    X: np.ndarray, labels: np.ndarray, silhouette_idx: np.ndarray | None = None
) -> dict:
    """Internal quality figures of ``labels`` (n,) on ``X`` (n, d).

    Silhouette is computed on the rows ``silhouette_idx`` only (it is
    quadratic in the number of rows); the other figures use all rows.
    """
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    k = int(labels.max()) + 1 if len(labels) else 0
    n_found = len(np.unique(labels))
    shares = np.bincount(labels, minlength=k) / len(labels)
    if n_found < 2:
        return {
            "silhouette": float("nan"),
            "davies_bouldin": float("nan"),
            "calinski_harabasz": float("nan"),
            "smallest_segment_share": float(shares.min()) if k else 0.0,
        }
    sil_idx = np.arange(len(X)) if silhouette_idx is None else silhouette_idx
    sil_labels = labels[sil_idx]
    sil = (
        float(silhouette_score(X[sil_idx], sil_labels))
        if len(np.unique(sil_labels)) > 1
        else float("nan")
    )
    return {
        "silhouette": sil,
        "davies_bouldin": float(davies_bouldin_score(X, labels)),
        "calinski_harabasz": float(calinski_harabasz_score(X, labels)),
        # Empty clusters count as share 0, so they fail the gate.
        "smallest_segment_share": float(shares.min()),
    }


def passes_gate(row: dict, gate: dict) -> bool:
    """Whether one k/algorithm row meets every threshold of ``gate``."""

    def ok(value, minimum):
        return value is not None and np.isfinite(value) and value >= minimum

    return bool(
        gate["min_k"] <= row["k"] <= gate["max_k"]
        and ok(row["silhouette"], gate["min_silhouette"])
        and ok(row["stability_ari"], gate["min_stability"])
        and ok(row["smallest_segment_share"], gate["min_segment_share"])
    )


def _score(row: dict) -> float:
    s, a = row["silhouette"], row["stability_ari"]
    return float(s * a) if np.isfinite(s) and np.isfinite(a) else -np.inf


def evaluate_k(
    X: np.ndarray,
    k_values,
    *,
    n_bootstrap: int = 10,
    random_state: int = 42,
    n_init: int = 10,
    silhouette_idx: np.ndarray | None = None,
    gate: dict | None = None,
    bootstrap_n_init: int = 3,
    stability_rows: int | None = 20_000,
) -> list[dict]:
    """KMeans for each k: one row per k with silhouette, Davies-Bouldin,
    Calinski-Harabasz, stability_ari, smallest_segment_share, score
    (silhouette x stability) and passed_gate."""
    gate = {**DEFAULT_GATE, **(gate or {})}
    rows = []
    for k in k_values:
        k = int(k)
        _, labels = fit_predict(X, "kmeans", k, random_state, n_init)
        stab, _ = clustering_stability(
            X,
            k,
            n_bootstrap=n_bootstrap,
            random_state=random_state + k,
            n_init=bootstrap_n_init,
            reference_labels=labels,
            max_rows=stability_rows,
        )
        row = {"algorithm": "kmeans", "k": k, **cluster_metrics(X, labels, silhouette_idx)}
        row["stability_ari"] = stab
        row["score"] = _score(row)
        row["passed_gate"] = passes_gate(row, gate)
        rows.append(row)
    return rows


def choose_k(rows: list[dict], gate: dict | None = None) -> tuple[int, bool]:
    """Pick k from :func:`evaluate_k` rows: the highest silhouette x stability
    among the rows that pass the gate. If none passes, the best-scoring k inside
    ``[min_k, max_k]`` (or, failing that, overall) is returned with ``False``.

    Returns (k, passed_gate).
    """
    if not rows:
        raise ValueError("No k was evaluated.")
    gate = {**DEFAULT_GATE, **(gate or {})}

    def best(candidates):
        # Ties go to the smaller k: fewer segments are easier to act on.
        return max(candidates, key=lambda r: (_score(r), -r["k"]))

    passing = [r for r in rows if passes_gate(r, gate)]
    if passing:
        return best(passing)["k"], True
    in_range = [r for r in rows if gate["min_k"] <= r["k"] <= gate["max_k"]]
    return best(in_range or rows)["k"], False


def compare_algorithms(
    X: np.ndarray,
    k: int,
    *,
    algorithms=ALGORITHMS,
    n_bootstrap: int = 10,
    random_state: int = 42,
    n_init: int = 10,
    silhouette_idx: np.ndarray | None = None,
    gate: dict | None = None,
    precomputed: dict[str, dict] | None = None,
    bootstrap_n_init: int = 3,
    stability_rows: int | None = 20_000,
) -> list[dict]:
    """Same figures as :func:`evaluate_k`, one row per algorithm at a fixed k.

    ``precomputed`` maps algorithm name to an already computed row (the
    KMeans row from the k search) to avoid fitting it twice.
    """
    gate = {**DEFAULT_GATE, **(gate or {})}
    rows = []
    for algorithm in algorithms:
        if precomputed and algorithm in precomputed:
            rows.append(dict(precomputed[algorithm]))
            continue
        _, labels = fit_predict(X, algorithm, k, random_state, n_init)
        # Mixtures can leave a component empty; relabel to consecutive ids.
        labels = np.unique(labels, return_inverse=True)[1].astype(np.int64)
        stab, _ = clustering_stability(
            X,
            k,
            algorithm=algorithm,
            n_bootstrap=n_bootstrap,
            random_state=random_state + k,
            n_init=bootstrap_n_init,
            reference_labels=labels,
            max_rows=stability_rows,
        )
        row = {"algorithm": algorithm, "k": int(k), **cluster_metrics(X, labels, silhouette_idx)}
        if len(np.unique(labels)) < k:
            row["smallest_segment_share"] = 0.0
        row["stability_ari"] = stab
        row["score"] = _score(row)
        row["passed_gate"] = passes_gate(row, gate)
        rows.append(row)
    return rows
