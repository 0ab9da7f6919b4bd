"""propensity_models: the append-only registry of propensity models.

Each run of the training job trains LightGBM on the labelled training
snapshots of customer_features (out of time: fit on the older snapshots,
early-stop on the next, test on the latest) and appends one row: the model as
text, its test metrics, both baselines' metrics, and whether it passed the gate.
"""

from segment_and_predict.propensity import train_propensity_model
from segment_and_predict.serving import in_key_order, registry_row_frame


def model(dbt, session):
    # append_new_columns: a registry created before a column existed (e.g.
    # reference_distribution_json) gains it; older rows hold null there.
    dbt.config(
        materialized="incremental",
        incremental_strategy="append",
        on_schema_change="append_new_columns",
    )
    snapshot_dates = dbt.ref("int_snapshot_dates")
    features = dbt.ref("customer_features")

    training_dates = snapshot_dates.filter("is_training_snapshot and is_label_observed")
    labelled = in_key_order(features.join(training_dates.select("as_of_date"), "as_of_date").df())

    gate = {
        "roc_auc": float(dbt.config.get("gate_min_roc_auc")),
        "pr_auc": float(dbt.config.get("gate_min_pr_auc")),
        "f1": float(dbt.config.get("gate_min_f1")),
    }
    result = train_propensity_model(
        labelled, gate=gate, num_threads=int(dbt.config.get("model_threads"))
    )
    return registry_row_frame(result.registry_row)
