"""monitoring_score_drift: today's propensity scores against the serving model's test scores.

One row per scoring date: PSI of the score distribution over the decile bins
of the model's own scores on its held-out test snapshot, recorded at training
(segment_and_predict.ml.monitoring). Rerunning a day replaces that day only.
"""

from segment_and_predict.ml.monitoring import score_drift_table


def model(dbt, session):
    # append_new_columns: a table created before calendar_shift_days existed gains it.
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="as_of_date",
        on_schema_change="append_new_columns",
    )
    return score_drift_table(
        dbt.ref("propensity_scores"),
        dbt.ref("propensity_models"),
        dbt.ref("int_snapshot_dates"),
    )
