"""Scoring customers with a trained propensity model, with the top reasons per customer."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa

from segment_and_predict.ml.propensity.data import AS_OF_DATE, CUSTOMER_ID, check_columns
from segment_and_predict.ml.propensity.explain import N_REASONS, reason_columns
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
    (:mod:`segment_and_predict.ml.propensity.treeshap`). The same scores as
    :func:`score_blocks`, as a pandas frame.
    """
    scored = score_blocks([features], model, model_id)
    out = pd.DataFrame(
        {
            CUSTOMER_ID: features[CUSTOMER_ID].to_numpy(),
            AS_OF_DATE: features[AS_OF_DATE].to_numpy(),
        }
    )
    for name in SCORE_COLUMNS[2:]:
        column = scored.column(name).combine_chunks()
        if pa.types.is_dictionary(column.type):
            out[name] = pd.array(column.dictionary.take(column.indices), dtype="str")
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            out[name] = pd.array(column, dtype="str")
        else:
            out[name] = column.to_numpy(zero_copy_only=False)
    return out


def score_blocks(
    blocks: Iterable[pd.DataFrame],
    model: PropensityModel,
    model_id: str,
) -> pa.Table:
    """Score customer_features rows that arrive in blocks: one Arrow table, in input order.

    The columns and values of :func:`score_customers`, with as_of_date a date and
    the text columns dictionary-encoded (DuckDB stores them as VARCHAR). Each block
    is encoded, scored and explained, and only its scores and reasons are kept, so
    the rows never need to be in memory at once: at 2.4M customers the scoring
    snapshot is ~1.1 GiB as one frame, the kept output ~0.3 GiB. The ranks (percentile,
    decile, band) are computed once every block is scored, within each as_of_date.
    """
    probabilities, customer_ids, dates, reason_blocks = [], [], [], []
    n_frames = 0
    for frame in blocks:
        check_columns(frame, require_label=False)
        n_frames += 1
        # Encoding, probabilities, contributions and reason texts go a block of rows
        # at a time, so memory stays bounded however large ``frame`` is (the
        # contributions of one block of 250K ~90 MiB). With SHAP reasons the
        # probability comes with the contributions, identical to predict_probability,
        # without a second pass over the trees.
        for start in range(0, max(len(frame), 1), REASON_BLOCK_ROWS):
            rows = frame.iloc[start : start + REASON_BLOCK_ROWS]
            block = model.encoder_.transform(rows)
            block.index = pd.RangeIndex(len(block))
            if len(block):
                block_probability, contributions = model.probability_and_contributions(block)
            else:
                block_probability = np.empty(0)
                contributions = np.zeros((0, len(model.features_) + 1))
            probabilities.append(block_probability)
            reason_blocks.append(reason_columns(model, block, contributions))
            customer_ids.append(pa.array(rows[CUSTOMER_ID], type=pa.large_string()))
            dates.append(pd.to_datetime(rows[AS_OF_DATE]).to_numpy().astype("datetime64[D]"))
    if not probabilities:
        raise ValueError("score_blocks needs at least one block of customer_features rows")
    probability = np.concatenate(probabilities)
    customer_id = pa.chunked_array(customer_ids, type=pa.large_string())
    as_of_date = np.concatenate(dates)
    if n_frames > 1:  # check_columns saw each frame alone
        _check_unique_keys(customer_id, as_of_date)
    percentile, decile = _within_snapshot_ranks(probability, pd.Series(as_of_date))
    columns = {
        CUSTOMER_ID: customer_id,
        AS_OF_DATE: pa.array(as_of_date, type=pa.date32()),
        "propensity": pa.array(probability, type=pa.float64()),
        "propensity_percentile": pa.array(percentile, type=pa.float64()),
        "propensity_decile": pa.array(decile, type=pa.int64()),
        "propensity_band": pa.array(propensity_band(decile), type=pa.large_string()),
        "is_predicted_buyer": pa.array(probability >= model.threshold_, type=pa.bool_()),
        **{
            name: pa.chunked_array([block[name] for block in reason_blocks])
            for name in reason_blocks[0]
        },
        "model_id": pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(len(probability), dtype=np.int32)),
            pa.array([model_id], type=pa.large_string()),
        ),
    }
    return pa.table({name: columns[name] for name in SCORE_COLUMNS})


def _check_unique_keys(customer_id: pa.ChunkedArray, as_of_date: np.ndarray) -> None:
    """ValueError when a (customer_id, as_of_date) repeats across blocks."""
    keys = pa.table({CUSTOMER_ID: customer_id, AS_OF_DATE: pa.array(as_of_date)})
    n_dup = keys.num_rows - keys.group_by([CUSTOMER_ID, AS_OF_DATE]).aggregate([]).num_rows
    if n_dup:
        raise ValueError(
            f"customer_features has {n_dup} duplicated ({CUSTOMER_ID}, {AS_OF_DATE}) rows; "
            "the grain must be one row per customer and snapshot"
        )
