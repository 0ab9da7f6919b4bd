"""propensity_scores: every customer scored at the scoring date, history kept by date.

Uses the propensity model that serving_models names (the newest that passed
its quality gate), so a retrain that fails the gate never reaches the scores.
While no model has passed yet, nothing is scored (the build's gate lines say
why). Rerunning a day replaces that day's rows only.
"""

from segment_and_predict.ml.propensity import PropensityModel, score_customers
from segment_and_predict.ml.serving import (
    SCORES_SCHEMA,
    nothing_served,
    scoring_snapshot,
    serving_model,
    with_date_column,
)


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="as_of_date",
        on_schema_change="append_new_columns",
    )
    serving = serving_model(
        dbt.ref("serving_models"), dbt.ref("propensity_models"), kind="propensity"
    )
    if serving is None:
        return nothing_served(SCORES_SCHEMA)
    model_id, model_json = serving
    features = scoring_snapshot(dbt.ref("customer_features"), dbt.ref("int_snapshot_dates"))
    scores = score_customers(features, PropensityModel.from_json(model_json), model_id)
    return with_date_column(scores)
