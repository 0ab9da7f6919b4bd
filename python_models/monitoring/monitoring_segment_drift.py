"""monitoring_segment_drift: today's segment shares against training and the previous day.

One row per segment and scoring date (segment_and_predict.ml.monitoring).
Rerunning a day replaces that day only.
"""

from segment_and_predict.ml.monitoring import segment_drift_table


def model(dbt, session):
    dbt.config(
        materialized="incremental", incremental_strategy="delete+insert", unique_key="as_of_date"
    )
    return segment_drift_table(
        dbt.ref("customer_segments"),
        dbt.ref("segment_models"),
        dbt.ref("int_snapshot_dates"),
    )
