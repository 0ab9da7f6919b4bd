"""propensity_scores: every customer scored at the scoring date, history kept by date.

Uses the propensity model that serving_models names (the newest that passed
its quality gate), so a retrain that fails the gate never reaches the scores.
While no model has passed yet, nothing is scored (the build's gate lines say
why). Rerunning a day replaces that day's rows only.
"""

from segment_and_predict.ml.kinds import serve_job
from segment_and_predict.ml.propensity.kind import PROPENSITY


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="as_of_date",
        on_schema_change="append_new_columns",
    )
    dbt.ref("serving_models")  # read by serve_job; named here so dbt sees the edges
    dbt.ref("propensity_models")
    dbt.ref("customer_features")
    dbt.ref("int_snapshot_dates")
    return serve_job(PROPENSITY, dbt)
