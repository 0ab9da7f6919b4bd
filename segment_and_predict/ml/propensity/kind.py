"""The propensity model as a model kind (:mod:`segment_and_predict.ml.kinds`).

Training (``python_models/propensity/propensity_models.py``): LightGBM on the
labelled training snapshots of ``customer_features`` with the label of
``customer_labels`` joined on, out of time, gated against the baselines. Serving
(``propensity_scores``): every customer of the scoring date scored, with reasons.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd
import pyarrow as pa

# the package is initialised before this submodule (its __init__ does not import it).
# Training and scoring are called through the package (propensity_package.X), the
# names its users know and tests/integration/fault_injection replaces.
import segment_and_predict.ml.propensity as propensity_package
from segment_and_predict.ml.kinds import ModelKind, TrainingRun
from segment_and_predict.ml.labels import label_column
from segment_and_predict.ml.propensity.model import PropensityModel, library_versions
from segment_and_predict.ml.propensity.training import parse_bool_var
from segment_and_predict.ml.serving import SCORES_SCHEMA, training_rows


def _prepare(dbt, config: Mapping[str, object]) -> TrainingRun:
    max_rows = str(config["max_training_rows"]).strip()
    if not max_rows.isdigit() or int(max_rows) < 1:
        raise ValueError(
            f"The var propensity_max_training_rows must be a whole number of at least 1; "
            f"got {max_rows!r}"
        )
    label = label_column(config["label_window_days"])
    labelled = training_rows(
        dbt.ref("customer_features"),
        dbt.ref("customer_labels"),
        dbt.ref("int_snapshot_dates"),
        label=label,
        max_rows=int(max_rows),
    )
    gate = {
        "roc_auc": float(config["gate_min_roc_auc"]),
        "pr_auc": float(config["gate_min_pr_auc"]),
        "f1": float(config["gate_min_f1"]),
    }
    must_beat_baselines = parse_bool_var(
        "propensity_gate_must_beat_baselines", config["gate_must_beat_baselines"]
    )
    num_threads = int(config["model_threads"])

    def fit(previous_model_json: str | None) -> dict:
        # each retrain stands alone: the previous model plays no part
        return propensity_package.train_propensity_model(
            labelled,
            gate=gate,
            must_beat_baselines=must_beat_baselines,
            num_threads=num_threads,
            label=label,
        ).registry_row

    return TrainingRun(
        rows=labelled,
        settings={
            "gate": gate,
            "must_beat_baselines": must_beat_baselines,
            "num_threads": num_threads,
        },
        fit=fit,
    )


def _serve(blocks: Iterable[pd.DataFrame], model_json: str, model_id: str) -> pa.Table:
    return propensity_package.score_blocks(blocks, PropensityModel.from_json(model_json), model_id)


PROPENSITY = ModelKind(
    name="propensity",
    registry="propensity_models",
    id_column="model_id",
    code=propensity_package,
    library_versions=library_versions,
    prepare=_prepare,
    serve=_serve,
    config_keys=(
        "max_training_rows",
        "label_window_days",
        "gate_min_roc_auc",
        "gate_min_pr_auc",
        "gate_min_f1",
        "gate_must_beat_baselines",
        "model_threads",
    ),
    served_schema=SCORES_SCHEMA,
    serves_in_blocks=True,
)
