"""What the segmenter's training job reads from the warehouse, and the purchase
rates it records.

The job (python_models/segments/segment_models.py) fits on the latest snapshot
of ``customer_features`` (today's customers) and records each segment's observed
purchase rate on the latest snapshot whose label window is complete: the
features of that date with the label of ``customer_labels`` joined on.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..serving import fetch_in_key_order, keys_and_columns, with_label
from .training import assign_segments


def segmenter_snapshots(
    features, labels, snapshot_dates, *, label: str, labelled_columns: Sequence[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(latest, labelled): the rows of the latest snapshot date, and those of the
    latest date whose label is observed with the column ``label`` last, in key order.

    ``features``, ``labels`` and ``snapshot_dates`` are DuckDB relations
    (customer_features, customer_labels, int_snapshot_dates). ``labelled`` is
    empty when no date is labelled yet. With ``labelled_columns``, ``labelled``
    holds only those feature columns (those customer_features has) besides the keys:
    it is only assigned to segments, and at 2.4M customers every column is ~1 GiB.
    """
    latest_date = snapshot_dates.aggregate("max(as_of_date) as as_of_date")
    labelled_date = snapshot_dates.filter("is_label_observed").aggregate(
        "max(as_of_date) as as_of_date"
    )
    latest = fetch_in_key_order(features.join(latest_date, "as_of_date"))
    labelled_features = (
        features if labelled_columns is None else keys_and_columns(features, labelled_columns)
    )
    labelled = fetch_in_key_order(
        with_label(labelled_features.join(labelled_date, "as_of_date"), labels, label)
    )
    return latest, labelled


def observed_purchase_rates(labelled: pd.DataFrame, model_json: str, *, label: str) -> dict:
    """Each segment's share of buyers (``label`` true) among ``labelled``'s customers,
    as {segment id (text): rate}; empty when ``labelled`` is."""
    if labelled.empty:
        return {}
    assigned = assign_segments(labelled, model_json)
    assigned["label"] = labelled[label].astype("float").to_numpy()
    return {
        str(segment_id): float(rate)
        for segment_id, rate in assigned.groupby("segment_id")["label"].mean().items()
    }
