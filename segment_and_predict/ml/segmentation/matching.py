"""Keep segment ids and names stable across retrains.

Both models' centroids are brought into one space: the previous centroids are
mapped back to raw units with the previous preprocessor, then scaled with the
new one, so the comparison is in the new model's standardised units. New
segments are matched to previous ones by the Hungarian algorithm on Euclidean
distance; a pair further apart than ``max_distance`` is not a match.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from .segmenter import Segmenter

# In standard deviations of the new data (Euclidean over all common columns).
# Segments of one model are typically 2-5 apart; a retrain on drifted data
# moves a centroid by a few tenths.
DEFAULT_MAX_DISTANCE = 1.5


@dataclass
class SegmentMatch:
    """Outcome for one segment of the new model (index = centroid row)."""

    new_index: int
    segment_id: int
    previous_segment_id: int | None
    previous_name: str | None
    distance: float | None

    @property
    def matched(self) -> bool:
        return self.previous_segment_id is not None


def _as_segmenter(model) -> Segmenter:
    if isinstance(model, Segmenter):
        return model
    if isinstance(model, dict):
        return Segmenter.from_dict(model)
    return Segmenter.from_json(model)


def centroid_distances(previous: Segmenter, new: Segmenter) -> np.ndarray:
    """(k_new, k_previous) distances between centroids in the new scaled space.

    Only columns both models use are compared; with none in common every
    distance is +inf (nothing can match).
    """
    prev_raw = previous.preprocessor_.scaled_to_original(previous.centroids_)
    prev_z, names = new.preprocessor_.original_to_scaled(prev_raw)
    if not names:
        return np.full((len(new.centroids_), len(previous.centroids_)), np.inf)
    cols = [new.preprocessor_.feature_names_out_.index(n) for n in names]
    new_z = new.centroids_[:, cols]
    return np.sqrt(((new_z[:, None, :] - prev_z[None, :, :]) ** 2).sum(axis=2))


def match_segments(
    previous_model_json, new_model, *, max_distance: float = DEFAULT_MAX_DISTANCE
) -> list[SegmentMatch]:
    """Match the new model's segments to the previous model's.

    Parameters
    ----------
    previous_model_json : str, dict or Segmenter
        The previous model (its ``to_json()``).
    new_model : Segmenter (fitted) or its JSON
    max_distance : float
        Largest centroid distance (new scaled units) that still counts as
        the same segment.

    Returns
    -------
    list of SegmentMatch, one per new centroid in centroid order. Matched
    segments carry the previous ``segment_id`` (and name); the others get
    fresh ids after the previous maximum id, in centroid order.
    """
    previous = _as_segmenter(previous_model_json)
    new = _as_segmenter(new_model)
    dist = centroid_distances(previous, new)
    prev_ids = [int(s["segment_id"]) for s in previous.segments_]
    prev_names = [s["name"] for s in previous.segments_]
    # Imported here: the daily assignment never matches segments (see selection.py).
    from scipy.optimize import linear_sum_assignment

    # A large finite cost instead of inf keeps linear_sum_assignment feasible.
    cost = np.where(np.isfinite(dist), dist, 1e12)
    rows, cols = linear_sum_assignment(cost)
    pairs = {int(r): int(c) for r, c in zip(rows, cols, strict=True) if dist[r, c] <= max_distance}
    next_id = max(prev_ids, default=0) + 1
    out = []
    for i in range(len(new.centroids_)):
        if i in pairs:
            j = pairs[i]
            out.append(SegmentMatch(i, prev_ids[j], prev_ids[j], prev_names[j], float(dist[i, j])))
        else:
            nearest = float(dist[i].min()) if dist.shape[1] and np.isfinite(dist[i]).any() else None
            out.append(SegmentMatch(i, next_id, None, None, nearest))
            next_id += 1
    return out


def matches_to_json(matches: list[SegmentMatch]) -> str:
    return json.dumps(
        [
            {
                "new_index": m.new_index,
                "segment_id": m.segment_id,
                "previous_segment_id": m.previous_segment_id,
                "previous_name": m.previous_name,
                "distance": m.distance,
            }
            for m in matches
        ]
    )
