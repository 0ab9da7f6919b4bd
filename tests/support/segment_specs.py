"""The segmenter's features as the project declares them (customer_features' YAML
meta.segmenter), for unit tests that train a segmenter without a warehouse: the same
declarations and the same conversion (feature_specs_from_catalog) as the build's
feature_catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from segment_and_predict.ml.segmentation import FeatureSpec, feature_specs_from_catalog

FEATURES_YML = Path(__file__).resolve().parents[2] / "models" / "features" / "_features__models.yml"


def declared_catalog() -> pd.DataFrame:
    """feature_catalog's feature, column_position and segmenter_json, from the YAML."""
    models = yaml.safe_load(FEATURES_YML.read_text(encoding="utf-8"))["models"]
    columns = next(m for m in models if m["name"] == "customer_features")["columns"]
    features = [c for c in columns if c["name"] not in ("customer_id", "as_of_date")]
    return pd.DataFrame(
        {
            "feature": [c["name"] for c in features],
            "column_position": range(1, len(features) + 1),
            "segmenter_json": [
                json.dumps(c["meta"]["segmenter"]) if "segmenter" in c.get("meta", {}) else None
                for c in features
            ],
        }
    )


DECLARED_SPECS: tuple[FeatureSpec, ...] = feature_specs_from_catalog(declared_catalog())
