"""Scoring customers with a trained propensity model, with the top reasons per customer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segment_and_predict.ml.propensity.data import AS_OF_DATE, CUSTOMER_ID, check_columns
from segment_and_predict.ml.propensity.explain import N_REASONS, reasons
from segment_and_predict.ml.propensity.model import PropensityModel

SCORE_COLUMNS = (
    CUSTOMER_ID,
    AS_OF_DATE,
    "propensity",
    "propensity_percentile",
    "propensity_decile",
    "propensity_band",
    "is_predicted_buyer",
    *(
        f"reason_{i}{suffix}"
        for i in range(1, N_REASONS + 1)
        for suffix in ("", "_feature", "_value", "_direction")
    ),
    "model_id",
)


# The propensity bands by score decile (1 = top 10%): their one owner. The
# scores carry the band (propensity_scores.propensity_band), and the campaign
# tables, the playbook seed and the report read it from there.
PROPENSITY_BANDS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("high", (1, 2)),
    ("medium", (3, 4, 5)),
    ("low", (6, 7, 8, 9, 10)),
)


def propensity_band(decile: np.ndarray) -> np.ndarray:
    """The band name of each score decile (PROPENSITY_BANDS); ValueError outside 1-10."""
    decile = np.asarray(decile)
    band = np.full(decile.shape, None, dtype=object)
    for name, deciles in PROPENSITY_BANDS:
        band[np.isin(decile, deciles)] = name
    if (band == None).any():  # noqa: E711 (element-wise on an object array)
        raise ValueError(f"score deciles outside 1-10: {sorted(set(decile[band == None]))}")  # noqa: E711
    return band


# Rows per block of contributions and reasons (~100 MiB of contributions each).
REASON_BLOCK_ROWS = 250_000


def _within_snapshot_ranks(
    probability: np.ndarray, as_of_date: pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile (0-100], higher = more likely) and decile (1 = top) within each as_of_date.

    Same definition as :func:`metrics.rank_percentile_and_decile`, applied per snapshot:
    tied probabilities share the best rank of the tie.
    """
    frame = pd.DataFrame({"p": probability, "d": as_of_date.to_numpy()})
    groups = frame.groupby("d", sort=False, dropna=False)["p"]
    rank_desc = groups.rank(method="min", ascending=False).to_numpy()
    n = groups.transform("size").to_numpy(dtype="float64")
    percentile = 100.0 * (n - rank_desc + 1) / n
    decile = np.ceil(10.0 * rank_desc / n).astype("int64")
    return percentile, decile


def score_customers(
    features: pd.DataFrame,
    model: PropensityModel,
    model_id: str,
) -> pd.DataFrame:
    """Score every row of ``features`` (customer_features rows, any snapshot dates).

    Returns one row per input row, in input order, with the columns
    :data:`SCORE_COLUMNS`: customer_id, as_of_date, propensity (probability of a
    purchase in the next 30 days), propensity_percentile (0-100], rank within the
    row's as_of_date, higher = more likely), propensity_decile (1 = top 10% of the
    as_of_date, 10 = bottom), propensity_band (PROPENSITY_BANDS), is_predicted_buyer
    (propensity >= the model's threshold), reason_1..3 with _feature/_value/_direction,
    and model_id.

    The reasons come from exact TreeSHAP contributions
    (:mod:`segment_and_predict.ml.propensity.treeshap`).
    """
    check_columns(features, require_label=False)
    # Encoding, probabilities, contributions and reason texts go a block of rows
    # at a time, so memory stays bounded however many customers there are (at
    # 2.4M customers the encoded frame alone is ~0.8 GiB, the contributions of
    # one block of 250K ~90 MiB). With SHAP reasons the probability comes with
    # the contributions, identical to predict_probability, without a second
    # pass over the trees.
    probability = np.empty(len(features))
    reason_blocks = []
    for start in range(0, len(features), REASON_BLOCK_ROWS):
        block = model.encoder_.transform(features.iloc[start : start + REASON_BLOCK_ROWS])
        block.index = pd.RangeIndex(start, start + len(block))
        block_probability, contributions = model.probability_and_contributions(block)
        probability[start : start + len(block)] = block_probability
        reason_blocks.append(reasons(model, block, contributions))
    if not reason_blocks:
        empty = model.encoder_.transform(features).reset_index(drop=True)
        reason_blocks.append(reasons(model, empty, np.zeros((0, len(model.features_) + 1))))
    reason_frame = pd.concat(reason_blocks, axis=0)
    percentile, decile = _within_snapshot_ranks(probability, features[AS_OF_DATE])
    out = pd.DataFrame(
        {
            CUSTOMER_ID: features[CUSTOMER_ID].to_numpy(),
            AS_OF_DATE: features[AS_OF_DATE].to_numpy(),
            "propensity": probability,
            "propensity_percentile": percentile,
            "propensity_decile": decile,
            "propensity_band": propensity_band(decile),
            "is_predicted_buyer": probability >= model.threshold_,
        }
    )
    out = pd.concat([out, reason_frame], axis=1)
    out["model_id"] = model_id
    return out[list(SCORE_COLUMNS)]
