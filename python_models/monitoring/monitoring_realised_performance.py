"""monitoring_realised_performance: how past scores did once their outcome is known.

One row per scoring date whose label window is complete: the stored scores and
their outcomes (monitoring_realised_outcomes, where the label macros decide who
bought) measured with scikit-learn (segment_and_predict.ml.monitoring). Each run adds
the dates that became complete; a date already here keeps its row.
"""

from segment_and_predict.ml.monitoring import realised_performance_table


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="as_of_date",
        on_schema_change="fail",
    )
    return realised_performance_table(
        dbt.ref("monitoring_realised_outcomes"),
        dbt.ref("propensity_models"),
        evaluated=str(dbt.this) if dbt.is_incremental else None,
    )
