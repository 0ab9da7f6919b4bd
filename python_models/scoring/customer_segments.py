"""customer_segments: every customer assigned to a segment at the scoring date.

Assignment uses the stored segmenter (nearest centroid), never a refit, so a
customer whose behaviour did not change keeps their segment from one day to the
next. History is kept by as_of_date; rerunning a day replaces that day only.
"""

from segment_and_predict.segmentation import assign_segments
from segment_and_predict.serving import newest_passing_model, scoring_snapshot, with_date_column


def model(dbt, session):
    dbt.config(
        materialized="incremental", incremental_strategy="delete+insert", unique_key="as_of_date"
    )
    _, model_json = newest_passing_model(
        dbt.ref("segment_models").select(
            "segment_model_id as model_id, model_json, trained_at, passed_quality_gate"
        ),
        kind="segment",
    )
    features = scoring_snapshot(dbt.ref("customer_features"), dbt.ref("int_snapshot_dates"))
    return with_date_column(assign_segments(features, model_json))
