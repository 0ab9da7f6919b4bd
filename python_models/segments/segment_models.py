"""segment_models: the append-only registry of customer segmenters.

Each run of the training job selects k and fits KMeans on the latest snapshot
of customer_features, compares it with other algorithms, matches the new
segments to the current segmenter's (so ids and names carry over), and appends
one row: the model as JSON, its quality figures, and whether it passed the gate.
A rerun on the same inputs appends nothing (segment_and_predict.ml.registry).
"""

import json

import pandas as pd

from segment_and_predict.ml import segmentation
from segment_and_predict.ml.labels import label_column
from segment_and_predict.ml.registry import (
    FINGERPRINT_COLUMN,
    already_trained,
    no_new_rows,
    training_fingerprint,
)
from segment_and_predict.ml.segmentation import train_segmenter
from segment_and_predict.ml.segmentation.inputs import observed_purchase_rates, segmenter_snapshots
from segment_and_predict.ml.segmentation.training import library_versions
from segment_and_predict.ml.serving import registry_row_frame, with_date_column


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="append",
        on_schema_change="append_new_columns",
    )
    label = label_column(dbt.config.get("label_window_days"))
    latest, labelled = segmenter_snapshots(
        dbt.ref("customer_features"),
        dbt.ref("customer_labels"),
        dbt.ref("int_snapshot_dates"),
        label=label,
    )

    gate = {
        "min_k": int(dbt.config.get("gate_min_k")),
        "max_k": int(dbt.config.get("gate_max_k")),
        "min_silhouette": float(dbt.config.get("gate_min_silhouette")),
        "min_stability": float(dbt.config.get("gate_min_stability")),
        "min_segment_share": float(dbt.config.get("gate_min_segment_share")),
    }
    new_customer_days = int(dbt.config.get("new_customer_days"))
    # A rerun on the rows the newest segmenter was trained on (e.g. after an
    # interrupted build) would append it again, matched to itself: append nothing.
    fingerprint = training_fingerprint(
        pd.concat([latest, labelled], ignore_index=True),
        settings={"gate": gate, "new_customer_days": new_customer_days},
        library_versions=library_versions(),
        code=segmentation,
    )
    if already_trained(dbt, session, fingerprint):
        return no_new_rows(dbt, session)

    previous_model_json = None
    if dbt.is_incremental:
        previous = session.execute(
            f"select model_json from {dbt.this} where passed_quality_gate "
            "order by trained_at desc limit 1"
        ).fetchall()
        previous_model_json = previous[0][0] if previous else None

    result = train_segmenter(
        latest,
        previous_model_json=previous_model_json,
        gate=gate,
        new_customer_days=new_customer_days,
    )
    row = dict(result.registry_row)

    # The observed purchase rate of each segment over the label window, on the
    # latest snapshot whose window is complete: what a marketer can expect from it.
    row["observed_purchase_rate_as_of_date"] = (
        pd.Timestamp(labelled["as_of_date"].iloc[0]).date().isoformat() if len(labelled) else None
    )
    row["observed_purchase_rates_json"] = json.dumps(
        observed_purchase_rates(labelled, row["model_json"], label=label)
    )
    row[FINGERPRINT_COLUMN] = fingerprint
    return with_date_column(registry_row_frame(row))
