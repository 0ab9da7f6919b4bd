"""propensity_models: the append-only registry of propensity models.

Each run of the training job trains LightGBM on the labelled training
snapshots of customer_features, with the label of customer_labels joined on
(out of time: fit on the older snapshots, early-stop on the next, test on the
latest) and appends one row: the model as
text, its test metrics, both baselines' metrics, and whether it passed the gate.
A rerun on the same inputs appends nothing (segment_and_predict.ml.registry).
"""

from segment_and_predict.ml import propensity
from segment_and_predict.ml.labels import label_column
from segment_and_predict.ml.propensity import parse_bool_var, train_propensity_model
from segment_and_predict.ml.propensity.model import library_versions
from segment_and_predict.ml.registry import (
    FINGERPRINT_COLUMN,
    already_trained,
    no_new_rows,
    training_fingerprint,
)
from segment_and_predict.ml.serving import registry_row_frame, training_rows


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
    labels = dbt.ref("customer_labels")

    max_rows = str(dbt.config.get("max_training_rows")).strip()
    if not max_rows.isdigit() or int(max_rows) < 1:
        raise ValueError(
            f"The var propensity_max_training_rows must be a whole number of at least 1; "
            f"got {max_rows!r}"
        )
    label = label_column(dbt.config.get("label_window_days"))
    labelled = training_rows(features, labels, snapshot_dates, label=label, max_rows=int(max_rows))

    gate = {
        "roc_auc": float(dbt.config.get("gate_min_roc_auc")),
        "pr_auc": float(dbt.config.get("gate_min_pr_auc")),
        "f1": float(dbt.config.get("gate_min_f1")),
    }
    must_beat_baselines = parse_bool_var(
        "propensity_gate_must_beat_baselines", dbt.config.get("gate_must_beat_baselines")
    )
    num_threads = int(dbt.config.get("model_threads"))
    # A rerun on the inputs the newest row was trained on (e.g. after an
    # interrupted build) would append the same model again: append nothing.
    fingerprint = training_fingerprint(
        labelled,
        settings={
            "gate": gate,
            "must_beat_baselines": must_beat_baselines,
            "num_threads": num_threads,
        },
        library_versions=library_versions(),
        code=propensity,
    )
    if already_trained(dbt, session, fingerprint):
        return no_new_rows(dbt, session)
    result = train_propensity_model(
        labelled,
        gate=gate,
        must_beat_baselines=must_beat_baselines,
        num_threads=num_threads,
        label=label,
    )
    return registry_row_frame({**result.registry_row, FINGERPRINT_COLUMN: fingerprint})
