"""monitoring_feature_drift: today's model inputs against the serving model's training rows.

One row per feature of the propensity model that scored today: PSI over the
reference bins the model recorded at training (segment_and_predict.ml.monitoring).
History is kept by as_of_date; rerunning a day replaces that day only.
"""

from segment_and_predict.ml.monitoring import feature_drift_table


def model(dbt, session):
    # append_new_columns: a table created before calendar_shift_days existed gains it.
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="as_of_date",
        on_schema_change="append_new_columns",
    )
    return feature_drift_table(
        dbt.ref("customer_features"),
        dbt.ref("propensity_scores"),
        dbt.ref("propensity_models"),
        dbt.ref("int_snapshot_dates"),
    )
