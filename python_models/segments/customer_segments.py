"""customer_segments: every customer assigned to a segment at the scoring date.

Assignment uses the segmenter that serving_models names (the newest that passed
its gate; nearest centroid, never a refit), so a customer whose behaviour did
not change keeps their segment from one day to the next. While no segmenter has
passed yet, nothing is assigned (the build's gate lines say why). History is
kept by as_of_date; rerunning a day replaces that day only.
"""

from segment_and_predict.ml.segmentation import assign_segments
from segment_and_predict.ml.serving import (
    SEGMENTS_SCHEMA,
    nothing_served,
    scoring_snapshot,
    serving_model,
    with_date_column,
)


def model(dbt, session):
    dbt.config(
        materialized="incremental", incremental_strategy="delete+insert", unique_key="as_of_date"
    )
    serving = serving_model(
        dbt.ref("serving_models"),
        dbt.ref("segment_models"),
        kind="segment",
        id_column="segment_model_id",
    )
    if serving is None:
        return nothing_served(SEGMENTS_SCHEMA)
    _, model_json = serving
    features = scoring_snapshot(dbt.ref("customer_features"), dbt.ref("int_snapshot_dates"))
    return with_date_column(assign_segments(features, model_json))
