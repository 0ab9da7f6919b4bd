"""propensity_models: the append-only registry of propensity models.

Each run of the training job trains LightGBM on the labelled training
snapshots of customer_features, with the label of customer_labels joined on
(out of time: fit on the older snapshots, early-stop on the next, test on the
latest) and appends one row: the model as text, its test metrics, the
baselines' metrics, and whether it passed the gate. A rerun on the same inputs
appends nothing. The steps are the model kind's (segment_and_predict.ml.kinds,
ml/propensity/kind.py).
"""

from segment_and_predict.ml.kinds import train_job
from segment_and_predict.ml.propensity.kind import PROPENSITY


def model(dbt, session):
    # append_new_columns: a registry created before a column existed (e.g.
    # reference_distribution_json) gains it; older rows hold null there.
    dbt.config(
        materialized="incremental",
        incremental_strategy="append",
        on_schema_change="append_new_columns",
    )
    dbt.ref("int_snapshot_dates")  # read by the kind; named here so dbt sees the edges
    dbt.ref("customer_features")
    dbt.ref("customer_labels")
    config = {
        "max_training_rows": dbt.config.get("max_training_rows"),
        "label_window_days": dbt.config.get("label_window_days"),
        "gate_min_roc_auc": dbt.config.get("gate_min_roc_auc"),
        "gate_min_pr_auc": dbt.config.get("gate_min_pr_auc"),
        "gate_min_f1": dbt.config.get("gate_min_f1"),
        "gate_must_beat_baselines": dbt.config.get("gate_must_beat_baselines"),
        "model_threads": dbt.config.get("model_threads"),
    }
    return train_job(PROPENSITY, dbt, session, config)
