"""segment_models: the append-only registry of customer segmenters.

Each run of the training job selects k and fits KMeans on the latest snapshot
of customer_features, compares it with other algorithms, matches the new
segments to the current segmenter's (so ids and names carry over), and appends
one row: the model as JSON, its quality figures, and whether it passed the gate.
A rerun on the same inputs appends nothing. The steps are the model kind's
(segment_and_predict.ml.kinds, ml/segmentation/kind.py).
"""

from segment_and_predict.ml.kinds import train_job
from segment_and_predict.ml.segmentation.kind import SEGMENTS


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="append",
        on_schema_change="append_new_columns",
    )
    dbt.ref("int_snapshot_dates")  # read by the kind; named here so dbt sees the edges
    dbt.ref("customer_features")
    dbt.ref("customer_labels")
    dbt.ref("feature_catalog")
    config = {
        "label_window_days": dbt.config.get("label_window_days"),
        "gate_min_k": dbt.config.get("gate_min_k"),
        "gate_max_k": dbt.config.get("gate_max_k"),
        "gate_min_silhouette": dbt.config.get("gate_min_silhouette"),
        "gate_min_stability": dbt.config.get("gate_min_stability"),
        "gate_min_segment_share": dbt.config.get("gate_min_segment_share"),
        "new_customer_days": dbt.config.get("new_customer_days"),
    }
    return train_job(SEGMENTS, dbt, session, config)
