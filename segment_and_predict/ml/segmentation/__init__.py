"""Customer segmentation: preprocessing, k selection, the JSON segmenter model,
stable ids across retrains, naming, training and daily assignment.

The dbt Python models call :func:`train_segmenter` (model registry row) and
:func:`assign_segments` (daily customer -> segment table).
"""

from .matching import SegmentMatch, centroid_distances, match_segments
from .naming import compute_profiles, name_segments
from .preprocessing import FeatureSpec, SegmentPreprocessor, feature_specs_from_catalog
from .segmenter import Segmenter, nearest_centroid
from .selection import (
    DEFAULT_GATE,
    choose_k,
    cluster_metrics,
    clustering_stability,
    compare_algorithms,
    evaluate_k,
)
from .training import (
    ASSIGNMENT_COLUMNS,
    REGISTRY_COLUMNS,
    SegmenterTrainingResult,
    assign_segments,
    train_segmenter,
)

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "DEFAULT_GATE",
    "REGISTRY_COLUMNS",
    "FeatureSpec",
    "feature_specs_from_catalog",
    "SegmentMatch",
    "SegmentPreprocessor",
    "Segmenter",
    "SegmenterTrainingResult",
    "assign_segments",
    "centroid_distances",
    "choose_k",
    "cluster_metrics",
    "clustering_stability",
    "compare_algorithms",
    "compute_profiles",
    "evaluate_k",
    "match_segments",
    "name_segments",
    "nearest_centroid",
    "train_segmenter",
]
