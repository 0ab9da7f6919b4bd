"""Monitoring tables (dbt Python models' glue): today's features, scores and segment
shares against the serving models' training references (drift), and how past scores
did once their outcome is known (realised performance).

The drift maths (distributions, PSI, the model reference) is
:mod:`segment_and_predict.ml.drift`; ROC-AUC and PR-AUC are
:func:`segment_and_predict.ml.propensity.metrics.ranking_metrics` (scikit-learn); this
module reads the warehouse relations and returns the monitoring tables.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa

from segment_and_predict.ml.drift import (
    DRIFT_SCHEMA,
    SEGMENT_DRIFT_SCHEMA,
    check_reference,
    feature_drift,
    score_drift,
    segment_share_drift,
    typed_table,
)
from segment_and_predict.ml.propensity.metrics import ranking_metrics
from segment_and_predict.ml.serving import relation_frame

# monitoring_realised_performance, column for column as its YAML declares
# (python_models/monitoring/_ml_monitoring__models.yml; a unit test keeps the two equal).
REALISED_PERFORMANCE_SCHEMA = pa.schema(
    [
        ("as_of_date", pa.date32()),
        ("model_id", pa.string()),
        ("label_window_end_date", pa.date32()),
        ("customers", pa.int64()),
        ("buyers", pa.int64()),
        ("base_rate", pa.float64()),
        ("mean_propensity", pa.float64()),
        ("roc_auc", pa.float64()),
        ("pr_auc", pa.float64()),
        ("precision_at_threshold", pa.float64()),
        ("recall_at_threshold", pa.float64()),
        ("top_decile_lift", pa.float64()),
        ("model_test_roc_auc", pa.float64()),
        ("model_test_pr_auc", pa.float64()),
        ("model_test_as_of_date", pa.date32()),
        ("scoring_models", pa.int64()),
    ]
)
# What realised performance reads per scored customer (monitoring_realised_outcomes).
REALISED_OUTCOME_COLUMNS = (
    "as_of_date",
    "label_window_end_date",
    "model_id",
    "propensity",
    "propensity_decile",
    "is_predicted_buyer",
    "is_buyer",
)


def _as_date(value: object) -> dt.date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def scoring_date(snapshot_dates) -> object:
    """The scoring as_of_date of this run (int_snapshot_dates, a DuckDB relation)."""
    rows = snapshot_dates.filter("is_scoring_snapshot").select("as_of_date").fetchall()
    if len(rows) != 1:
        raise ValueError(f"int_snapshot_dates needs exactly one scoring date, found {len(rows)}")
    return rows[0][0]


def serving_reference(scores, registry, as_of_date) -> tuple[str | None, dict | None]:
    """(model_id, reference) of the propensity model that scored ``as_of_date``.

    ``scores`` and ``registry`` are DuckDB relations of propensity_scores and
    propensity_models. The reference is None when that model was trained before
    references were recorded (retraining records one).
    """
    rows = (
        scores.filter(f"as_of_date = {_literal(as_of_date)}").select("model_id").distinct()
    ).fetchall()
    if not rows:  # no propensity model serves yet, so nothing was scored: nothing to compare
        return None, None
    if len(rows) != 1:
        raise ValueError(
            f"propensity_scores of {as_of_date} must come from exactly one model, found "
            f"{[r[0] for r in rows]}"
        )
    model_id = str(rows[0][0])
    if "reference_distribution_json" not in registry.columns:
        return model_id, None
    found = (
        registry.filter(f"model_id = {_literal(model_id)}")
        .select("reference_distribution_json")
        .fetchall()
    )
    if not found or found[0][0] is None:
        return model_id, None
    return model_id, check_reference(json.loads(found[0][0]))


def feature_drift_table(features, scores, registry, snapshot_dates) -> pa.Table:
    """monitoring_feature_drift for the scoring date: one row per feature of the serving model."""
    as_of_date = _as_date(scoring_date(snapshot_dates))
    model_id, reference = serving_reference(scores, registry, as_of_date)
    rows = []
    if reference is not None:
        wanted = ", ".join(f'"{name}"' for name in reference["features"])
        today = relation_frame(
            features.filter(f"as_of_date = {_literal(as_of_date)}").select(wanted)
        )
        rows = feature_drift(reference, today, as_of_date)
    return typed_table(
        [{**row, "as_of_date": as_of_date, "model_id": model_id} for row in rows], DRIFT_SCHEMA
    )


def score_drift_table(scores, registry, snapshot_dates) -> pa.Table:
    """monitoring_score_drift for the scoring date: one row (none without a reference)."""
    as_of_date = _as_date(scoring_date(snapshot_dates))
    model_id, reference = serving_reference(scores, registry, as_of_date)
    rows = []
    if reference is not None:
        today = relation_frame(
            scores.filter(f"as_of_date = {_literal(as_of_date)}").select("propensity")
        )
        rows = score_drift(reference, today["propensity"])
    return typed_table(
        [{**row, "as_of_date": as_of_date, "model_id": model_id} for row in rows], DRIFT_SCHEMA
    )


def _segment_counts(segments, as_of_date) -> dict[int, int]:
    counts = (
        segments.filter(f"as_of_date = {_literal(as_of_date)}")
        .aggregate("segment_id, count(*)", "segment_id")
        .fetchall()
    )
    return {int(segment_id): int(n) for segment_id, n in counts}


def _segmenters(segments, as_of_date) -> list[str]:
    rows = (
        segments.filter(f"as_of_date = {_literal(as_of_date)}")
        .select("segment_model_id")
        .distinct()
        .fetchall()
    )
    return sorted(str(r[0]) for r in rows)


def segment_drift_table(segments, segment_registry, snapshot_dates) -> pa.Table:
    """monitoring_segment_drift for the scoring date: one row per segment.

    Shares today against the shares the serving segmenter found on its
    training snapshot (segment_models.segments_json) and against the previous
    assignment date in customer_segments.
    """
    as_of_date = _as_date(scoring_date(snapshot_dates))
    serving = _segmenters(segments, as_of_date)
    if not serving:  # no segmenter serves yet, so nothing was assigned: nothing to compare
        return typed_table([], SEGMENT_DRIFT_SCHEMA)
    if len(serving) != 1:
        raise ValueError(
            f"customer_segments of {as_of_date} must come from exactly one segmenter, found "
            f"{serving}"
        )
    segment_model_id = serving[0]
    registry_row = (
        segment_registry.filter(f"segment_model_id = {_literal(segment_model_id)}")
        .select("as_of_date, segments_json")
        .fetchall()
    )
    if not registry_row:
        raise ValueError(f"segment_models has no row for the serving segmenter {segment_model_id}")
    trained_on, segments_json = registry_row[0]
    trained_segments = json.loads(segments_json)
    reference_shares = {int(s["segment_id"]): float(s["share"]) for s in trained_segments}
    names = {int(s["segment_id"]): s["name"] for s in trained_segments}
    previous = (
        segments.filter(f"as_of_date < {_literal(as_of_date)}")
        .aggregate("max(as_of_date)")
        .fetchall()[0][0]
    )
    rows, psi_training, psi_previous = segment_share_drift(
        reference_shares,
        _segment_counts(segments, as_of_date),
        _segment_counts(segments, previous) if previous is not None else None,
    )
    if previous is not None and _segmenters(segments, previous) != [segment_model_id]:
        # A retrained segmenter may add or drop segments: a day-over-day PSI
        # would flag the retrain itself, not a change in the customers.
        psi_previous = math.nan
    out = [
        {
            **row,
            "as_of_date": as_of_date,
            "segment_model_id": segment_model_id,
            "segment_name": names.get(row["segment_id"]),
            "reference_as_of_date": _as_date(trained_on),
            "previous_as_of_date": _as_date(previous),
            "psi_vs_training": psi_training,
            "psi_vs_previous": psi_previous,
        }
        for row in rows
    ]
    return typed_table(out, SEGMENT_DRIFT_SCHEMA)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def realised_performance(outcomes: pd.DataFrame, registry: pd.DataFrame) -> list[dict]:
    """One monitoring_realised_performance row per as_of_date of ``outcomes``.

    ``outcomes``: one row per scored customer of a date whose label window is
    observed (:data:`REALISED_OUTCOME_COLUMNS`; is_buyer is the label, decided in
    SQL by the label macros). ``registry``: propensity_models' model_id, roc_auc,
    pr_auc and test_as_of_date, the scoring model's test figures at training.
    ROC-AUC and PR-AUC come from :func:`ranking_metrics`; the figures at the
    threshold and the top-decile lift count the stored is_predicted_buyer and
    propensity_decile. Undefined figures (a date with no buyers, no flagged
    customers) are NaN. No outcomes give no rows.
    """
    missing = [c for c in REALISED_OUTCOME_COLUMNS if c not in outcomes.columns]
    if missing:
        raise ValueError(f"realised performance needs the outcome columns {missing}")
    tested = {
        str(row.model_id): row
        for row in registry[["model_id", "roc_auc", "pr_auc", "test_as_of_date"]].itertuples()
    }
    rows = []
    for as_of_date, day in outcomes.groupby("as_of_date", sort=True):
        y = day["is_buyer"].astype("bool").to_numpy()
        flagged = day["is_predicted_buyer"].astype("bool").to_numpy()
        top_decile = (day["propensity_decile"] == 1).to_numpy()
        customers, buyers = len(day), int(y.sum())
        base_rate = buyers / customers
        model_ids = day["model_id"].astype(str)
        model_id = model_ids.min()
        test = tested.get(model_id)
        rows.append(
            {
                "as_of_date": _as_date(as_of_date),
                "model_id": model_id,
                "label_window_end_date": _as_date(day["label_window_end_date"].iloc[0]),
                "customers": customers,
                "buyers": buyers,
                "base_rate": base_rate,
                "mean_propensity": float(day["propensity"].mean()),
                **ranking_metrics(y, day["propensity"].to_numpy()),
                "precision_at_threshold": _ratio(float(np.sum(flagged & y)), flagged.sum()),
                "recall_at_threshold": _ratio(float(np.sum(flagged & y)), buyers),
                "top_decile_lift": (
                    _ratio(float(y[top_decile].mean()), base_rate) if top_decile.any() else math.nan
                ),
                "model_test_roc_auc": None if test is None else test.roc_auc,
                "model_test_pr_auc": None if test is None else test.pr_auc,
                "model_test_as_of_date": None if test is None else _as_date(test.test_as_of_date),
                "scoring_models": int(model_ids.nunique()),
            }
        )
    return rows


def realised_performance_table(outcomes, registry, evaluated: str | None = None) -> pa.Table:
    """monitoring_realised_performance for the observed dates not yet ``evaluated``.

    ``outcomes`` and ``registry`` are DuckDB relations of monitoring_realised_outcomes
    and propensity_models; ``evaluated`` names the table itself on an incremental
    run (dbt's ``this``): the dates it holds keep their rows. Empty while no date is
    observed.
    """
    if evaluated is not None:
        outcomes = outcomes.filter(f"as_of_date not in (select as_of_date from {evaluated})")
    frame = outcomes.select(", ".join(REALISED_OUTCOME_COLUMNS)).df()
    tests = registry.select("model_id, roc_auc, pr_auc, test_as_of_date").df()
    return typed_table(realised_performance(frame, tests), REALISED_PERFORMANCE_SCHEMA)
