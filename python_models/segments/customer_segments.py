"""customer_segments: every customer assigned to a segment at the scoring date.

Assignment uses the segmenter that serving_models names (the newest that passed
its gate; nearest centroid, never a refit), so a customer whose behaviour did
not change keeps their segment from one day to the next. While no segmenter has
passed yet, nothing is assigned (the build's gate lines say why). History is
kept by as_of_date; rerunning a day replaces that day only.
"""

from segment_and_predict.ml.kinds import serve_job
from segment_and_predict.ml.segmentation.kind import SEGMENTS


def model(dbt, session):
    dbt.config(
        materialized="incremental", incremental_strategy="delete+insert", unique_key="as_of_date"
    )
    dbt.ref("serving_models")  # read by serve_job; named here so dbt sees the edges
    dbt.ref("segment_models")
    dbt.ref("customer_features")
    dbt.ref("int_snapshot_dates")
    return serve_job(SEGMENTS, dbt)
