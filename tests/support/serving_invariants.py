"""The consistency invariants of the public tables, in one place.

Whatever happened to a run (a failed gate, a crash, a kill), the public tables
must agree with each other and with the serving models (serving_models):

- on every date, customer_segments names one segmenter and propensity_scores
  one propensity model;
- segment_profiles and campaign_target_customers name one segmenter, the
  serving one; campaign_target_customers and campaign_targets one propensity
  model, the serving one;
- features, scores and segments come from one export: on every scored or
  segmented date they hold the same customers, and the activation list is of
  the run's scoring date (int_scoring_date: after a backfill, the backfilled date).
  A date's features are wherever they are kept: in customer_features, or, older
  than feature_history_days, in the Parquet history beside the warehouse
  (segment_and_predict.dbt.history; the table's rows win for a date in both).

``serving_invariant_violations`` returns one sentence per broken invariant;
the hostile-run and kill-and-rerun tests assert that it returns none.
"""

from __future__ import annotations

import duckdb
from dbt_helpers import every_feature_date_sql

from segment_and_predict.dbt.jobs import Warehouse

# name -> query returning rows only when the invariant is broken
INVARIANTS = {
    "customer_segments names more than one segmenter on a date": """
        select as_of_date from customer_segments
        group by as_of_date having count(distinct segment_model_id) > 1""",
    "propensity_scores names more than one propensity model on a date": """
        select as_of_date from propensity_scores
        group by as_of_date having count(distinct model_id) > 1""",
    "segment_profiles names a segmenter other than the serving one": """
        select segment_model_id from segment_profiles
        where segment_model_id is distinct from (
            select serving_model_id from serving_models where model_kind = 'segment')""",
    "campaign_target_customers names a segmenter other than the serving one": """
        select customer_id from campaign_target_customers
        where segment_model_id is not null and segment_model_id is distinct from (
            select serving_model_id from serving_models where model_kind = 'segment')""",
    "campaign_target_customers names a propensity model other than the serving one": """
        select customer_id from campaign_target_customers
        where propensity_model_id is distinct from (
            select serving_model_id from serving_models where model_kind = 'propensity')""",
    "the latest segments were assigned by another segmenter than the serving one": """
        select segment_model_id from customer_segments
        where as_of_date = (select max(as_of_date) from customer_segments)
            and segment_model_id is distinct from (
                select serving_model_id from serving_models where model_kind = 'segment')""",
    "the latest scores come from another propensity model than the serving one": """
        select model_id from propensity_scores
        where as_of_date = (select max(as_of_date) from propensity_scores)
            and model_id is distinct from (
                select serving_model_id from serving_models where model_kind = 'propensity')""",
    "campaign_target_customers is not the list of the run's scoring date": """
        select as_of_date from campaign_target_customers
        where as_of_date is distinct from (select as_of_date from intermediate.int_scoring_date)
            or as_of_date not in (select as_of_date from propensity_scores)""",
    "campaign_target_customers disagrees with the scores or segments it lists": """
        select targets.customer_id
        from campaign_target_customers as targets
        left join propensity_scores as scores using (customer_id, as_of_date)
        left join customer_segments as segments using (customer_id, as_of_date)
        where scores.model_id is distinct from targets.propensity_model_id
            or scores.propensity is distinct from targets.propensity
            or segments.segment_model_id is distinct from targets.segment_model_id
            or segments.segment_id is distinct from targets.segment_id""",
    "scores of a date hold other customers than that date's features": """
        select as_of_date from (
            (select as_of_date, customer_id from propensity_scores
             except select as_of_date, customer_id from every_feature_date)
            union all
            (select as_of_date, customer_id from every_feature_date
             where as_of_date in (select as_of_date from propensity_scores)
             except select as_of_date, customer_id from propensity_scores)
        )""",
    "segments of a date hold other customers than that date's scores": """
        select as_of_date from (
            (select as_of_date, customer_id from customer_segments
             except select as_of_date, customer_id from propensity_scores)
            union all
            (select as_of_date, customer_id from propensity_scores
             except select as_of_date, customer_id from customer_segments)
        )
        where as_of_date in (select as_of_date from propensity_scores)
            and as_of_date in (select as_of_date from customer_segments)""",
}

TABLES = {
    "customer_features",
    "propensity_scores",
    "customer_segments",
    "segment_profiles",
    "campaign_target_customers",
    "serving_models",
}


def serving_invariant_violations(warehouse: Warehouse) -> list[str]:
    """One sentence per broken invariant of the warehouse's public tables (none: consistent).

    A warehouse that does not exist, or holds none of the public tables yet,
    breaks nothing. One that holds some of them but not all is a broken state.
    """
    if not warehouse.warehouse_path.exists():
        return []
    with duckdb.connect(str(warehouse.warehouse_path), read_only=True) as con:
        present = {
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = 'main'"
            ).fetchall()
        }
        if not present & TABLES:
            return []
        if TABLES - present:
            return [f"the public tables {sorted(TABLES - present)} are missing"]
        # temp view every_feature_date: the keys of customer_features' whole history
        con.execute(
            f"create or replace temp view every_feature_date as {every_feature_date_sql(warehouse)}"
        )
        broken = []
        for name, query in INVARIANTS.items():
            rows = con.execute(f"select * from ({query}) limit 3").fetchall()
            if rows:
                broken.append(f"{name}, e.g. {rows}")
        return broken


def assert_serving_invariants(warehouse: Warehouse) -> None:
    broken = serving_invariant_violations(warehouse)
    assert not broken, "inconsistent public tables:\n" + "\n".join(broken)
