"""propensity_scores: every customer scored at the scoring date, history kept by date.

Uses the newest model in propensity_models that passed the quality gate, so a
retrain that fails the gate never reaches the scores. Rerunning a day replaces
that day's rows only.
"""

from segment_and_predict.propensity import PropensityModel, score_customers
from segment_and_predict.serving import newest_passing_model, scoring_snapshot, with_date_column


def model(dbt, session):
    dbt.config(
        materialized="incremental", incremental_strategy="delete+insert", unique_key="as_of_date"
    )
    model_id, model_json = newest_passing_model(
        dbt.ref("propensity_models").select(
            "model_id, model_json, trained_at, passed_quality_gate"
        ),
        kind="propensity",
    )
    features = scoring_snapshot(dbt.ref("customer_features"), dbt.ref("int_snapshot_dates"))
    reason_method = str(dbt.config.get("reason_method"))
    if reason_method not in ("shap", "path"):
        raise ValueError(
            f"The var propensity_reason_method must be 'shap' or 'path'; got {reason_method!r}"
        )
    scores = score_customers(
        features, PropensityModel.from_json(model_json), model_id, reason_method=reason_method
    )
    return with_date_column(scores)
