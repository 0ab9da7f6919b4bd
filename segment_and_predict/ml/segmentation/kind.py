"""The segmenter as a model kind (:mod:`segment_and_predict.ml.kinds`).

Training (``python_models/segments/segment_models.py``): select k and fit KMeans on
the latest snapshot of ``customer_features``, on the features ``feature_catalog``
marks for the segmenter (their YAML ``meta.segmenter``), match the new segments to the previous
serving segmenter's (so ids and names carry over), and record each segment's observed
purchase rate on the latest snapshot whose label window is complete. Serving
(``customer_segments``): every customer of the scoring date assigned to the nearest
centroid, never a refit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pandas as pd

# the package is initialised before this submodule (its __init__ does not import it)
import segment_and_predict.ml.segmentation as segmentation_package
from segment_and_predict.ml.kinds import ModelKind, TrainingRun
from segment_and_predict.ml.labels import label_column
from segment_and_predict.ml.segmentation.inputs import observed_purchase_rates, segmenter_snapshots
from segment_and_predict.ml.segmentation.preprocessing import (
    CATEGORY_SHARE_PREFIX,
    FeatureSpec,
    feature_specs_from_catalog,
)
from segment_and_predict.ml.segmentation.segmenter import Segmenter
from segment_and_predict.ml.segmentation.training import (
    assign_segments,
    library_versions,
    train_segmenter,
)
from segment_and_predict.ml.serving import SEGMENTS_SCHEMA


def segmenter_readable_columns(
    feature_specs: Sequence[FeatureSpec], columns: Sequence[str]
) -> list[str]:
    """Every column of ``columns`` a segmenter fitted with ``feature_specs`` can read
    (a superset of its ``input_columns_``): the declared features, the category shares
    the preprocessor adds (``share_spend_*``), and the new-customer rule's tenure_days."""
    return [
        *(spec.column for spec in feature_specs),
        *(name for name in columns if str(name).startswith(CATEGORY_SHARE_PREFIX)),
        "tenure_days",
    ]


def _prepare(dbt, config: Mapping[str, object]) -> TrainingRun:
    label = label_column(config["label_window_days"])
    # the features to cluster on, as customer_features' YAML declares them
    feature_specs = feature_specs_from_catalog(dbt.ref("feature_catalog").df())
    features = dbt.ref("customer_features")
    latest, labelled = segmenter_snapshots(
        features,
        dbt.ref("customer_labels"),
        dbt.ref("int_snapshot_dates"),
        label=label,
        # the labelled rows are only assigned to segments (observed_purchase_rates)
        labelled_columns=segmenter_readable_columns(feature_specs, features.columns),
    )
    gate = {
        "min_k": int(config["gate_min_k"]),
        "max_k": int(config["gate_max_k"]),
        "min_silhouette": float(config["gate_min_silhouette"]),
        "min_stability": float(config["gate_min_stability"]),
        "min_segment_share": float(config["gate_min_segment_share"]),
    }
    new_customer_days = int(config["new_customer_days"])

    def fit(previous_model_json: str | None) -> dict:
        row = dict(
            train_segmenter(
                latest,
                previous_model_json=previous_model_json,
                gate=gate,
                new_customer_days=new_customer_days,
                feature_specs=feature_specs,
            ).registry_row
        )
        # The observed purchase rate of each segment over the label window, on the
        # latest snapshot whose window is complete: what a marketer can expect from it.
        row["observed_purchase_rate_as_of_date"] = (
            pd.Timestamp(labelled["as_of_date"].iloc[0]).date().isoformat()
            if len(labelled)
            else None
        )
        row["observed_purchase_rates_json"] = json.dumps(
            observed_purchase_rates(labelled, row["model_json"], label=label)
        )
        return row

    return TrainingRun(
        rows=(latest, labelled),  # a concatenation would be a third copy of both
        settings={
            "gate": gate,
            "new_customer_days": new_customer_days,
            "feature_specs": [spec.to_dict() for spec in feature_specs],
        },
        fit=fit,
    )


def _serve(features: pd.DataFrame, model_json: str, model_id: str) -> pd.DataFrame:
    # assign_segments names the segmenter's id itself (segment_model_id)
    return assign_segments(features, model_json)


SEGMENTS = ModelKind(
    name="segment",
    registry="segment_models",
    id_column="segment_model_id",
    code=segmentation_package,
    library_versions=library_versions,
    prepare=_prepare,
    serve=_serve,
    config_keys=(
        "label_window_days",
        "gate_min_k",
        "gate_max_k",
        "gate_min_silhouette",
        "gate_min_stability",
        "gate_min_segment_share",
        "new_customer_days",
    ),
    served_schema=SEGMENTS_SCHEMA,
    input_columns=lambda model_json: Segmenter.from_json(model_json).input_columns_,
)
