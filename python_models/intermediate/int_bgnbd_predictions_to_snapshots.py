"""int_bgnbd_predictions_to_snapshots: BG/NBD P(alive) and purchases expected in the label window.

One BG/NBD fit per as_of date on that date's purchase histories
(int_order_history_aggregated_to_snapshots: orders strictly before the date),
customer x as_of_date. The maths: segment_and_predict.ml.propensity.btyd.
"""

from segment_and_predict.ml.propensity.btyd import predictions_per_snapshot
from segment_and_predict.ml.serving import relation_frame


def model(dbt, session):
    dbt.config(materialized="table")
    window_days = int(dbt.config.get("label_window_days"))
    # through Arrow: DuckDB's .df() makes a Python str of every customer id
    history = relation_frame(
        dbt.ref("int_order_history_aggregated_to_snapshots")
        .select(
            "customer_id, as_of_date, purchase_days_lifetime, "
            "days_first_to_last_purchase, days_since_first_order"
        )
        .order("as_of_date, customer_id")
    )
    return predictions_per_snapshot(history, window_days)
