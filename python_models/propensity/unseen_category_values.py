"""unseen_category_values: category values at the scoring date the serving model never saw.

The customers holding them are still scored: the propensity model's encoder
maps an unseen value to missing (LightGBM's missing branch). This table makes
that visible (feature, value, customers) so a new region or channel in the
export is noticed instead of silently scored as "unknown"; a warn-severity test
reports it in the build output.
"""

import pandas as pd
import pyarrow as pa

from segment_and_predict.ml.propensity import PropensityModel
from segment_and_predict.ml.serving import scoring_snapshot, serving_model

SCHEMA = pa.schema(
    [
        ("as_of_date", pa.date32()),
        ("model_id", pa.string()),
        ("feature", pa.string()),
        ("category_value", pa.string()),
        ("customers", pa.int64()),
    ]
)


def model(dbt, session):
    dbt.config(materialized="table")
    serving = serving_model(
        dbt.ref("serving_models"), dbt.ref("propensity_models"), kind="propensity"
    )
    if serving is None:  # no propensity model serves yet: nothing is scored
        return SCHEMA.empty_table()
    model_id, model_json = serving
    encoder = PropensityModel.from_json(model_json).encoder_
    # only the categorical columns are looked at, so only they are read
    columns = ["as_of_date", *encoder.categorical_levels_]
    features = scoring_snapshot(
        dbt.ref("customer_features").select(", ".join(columns)), dbt.ref("int_snapshot_dates")
    )
    unseen = encoder.unseen_categories(features)
    as_of_date = pd.Timestamp(features["as_of_date"].iloc[0]).date() if len(features) else None
    return pa.table(
        {
            "as_of_date": [as_of_date] * len(unseen),
            "model_id": [model_id] * len(unseen),
            "feature": unseen["feature"].tolist(),
            "category_value": unseen["category_value"].tolist(),
            "customers": unseen["rows"].tolist(),
        },
        schema=SCHEMA,
    )
