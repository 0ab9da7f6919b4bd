"""bi_snapshot: publishes the public tables for BI tools, after everything else passed.

It refs every public table, so in ``dbt build`` it runs only after all of them
and their data tests succeeded: a failed day publishes nothing. The work (Parquet
files, a DuckDB file that DuckDB 1.x reads, the atomic swap) is
segment_and_predict.dbt.publish; docs/bi.md says where the snapshot lands and how
BI tools connect. The table this model returns lists what was published.
"""

import os

import pandas as pd

from segment_and_predict.dbt.publish import PUBLISH_DIR_ENV, default_publish_dir, publish_snapshot


def _publish_dir(session):
    configured = os.environ.get(PUBLISH_DIR_ENV)
    if configured:
        return configured
    warehouse = (
        os.environ.get("SAP_DUCKDB_PATH")
        or session.execute(
            "select path from duckdb_databases() where database_name = current_database()"
        ).fetchall()[0][0]
    )
    return default_publish_dir(warehouse)


def model(dbt, session):
    dbt.config(materialized="table", schema="publishing")
    # Every table of schema main, each as a literal ref (dbt reads refs from the
    # code): lineage, and the order that publishes after every public table and
    # its tests (tests/integration/test_publish.py checks that the list is complete).
    dbt.ref("campaign_target_customers")
    dbt.ref("campaign_targets")
    dbt.ref("customer_features")
    dbt.ref("customer_segments")
    dbt.ref("data_quality_issues")
    dbt.ref("data_sources")
    dbt.ref("feature_catalog")
    dbt.ref("monitoring_feature_drift")
    dbt.ref("monitoring_realised_performance")
    dbt.ref("monitoring_score_drift")
    dbt.ref("monitoring_segment_drift")
    dbt.ref("propensity_calibration")
    dbt.ref("propensity_curves")
    dbt.ref("propensity_feature_importance")
    dbt.ref("propensity_gains")
    dbt.ref("propensity_models")
    dbt.ref("propensity_scores")
    dbt.ref("segment_migration")
    dbt.ref("segment_model_comparison")
    dbt.ref("segment_models")
    dbt.ref("segment_profiles")
    dbt.ref("serving_models")
    dbt.ref("unseen_category_values")
    # The as_of dates this run built: the history tables rebuild whole dates and keep
    # the others (incremental, delete+insert on as_of_date; the same rule scopes their
    # data tests, macros/test_scope.sql), so only these dates' partitions are hashed.
    # (a statement of its own: dbt finds no ref inside an indexed chain such as ref(...)[...])
    snapshot_dates = dbt.ref("int_snapshot_dates").df()
    rebuilt_dates = snapshot_dates["as_of_date"].tolist()
    result = publish_snapshot(session, _publish_dir(session), rebuilt_dates=rebuilt_dates)
    return pd.DataFrame(
        {
            "table_name": [t.name for t in result.tables],
            "row_count": [t.row_count for t in result.tables],
            "partition_column": [t.partition_column for t in result.tables],
            "partitions": [t.partitions for t in result.tables],
        }
    )
