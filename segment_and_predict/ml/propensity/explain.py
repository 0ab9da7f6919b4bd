"""Explanations: global feature importance and per-customer reasons from contributions.

Contributions are in log-odds units: for each row they sum, with the expected
value, to the raw score. They are SHAP values (``PropensityModel.contributions``):
LightGBM's exact TreeSHAP (``pred_contrib=True``), computed once per group of rows
that decide alike in a tree (:mod:`segment_and_predict.ml.propensity.treeshap`); with
the probability it takes ~3.5 s for the default model and 240K customers on one
core, about 10x less than LightGBM on all rows. (A path-attribution option,
"Saabas", was removed: an approximation that had become the slower of the two.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from segment_and_predict.ml.propensity.data import MISSING_LEVEL_TEXT
from segment_and_predict.ml.propensity.model import PropensityModel

N_REASONS = 3


def feature_importance(
    model: PropensityModel, X_sample: pd.DataFrame, contributions: np.ndarray | None = None
) -> list[dict]:
    """Mean |SHAP|, direction and gain per used feature, most important first.

    Ranked by mean |SHAP| (ties by gain), the same measure as each customer's
    top reasons and the report's drivers chart, so the table and the report
    agree. ``X_sample`` is a sample of raw (not encoded) rows, e.g. test rows.
    One dict per feature: rank, feature, gain, gain_share (0-1), splits,
    mean_abs_shap (log-odds), and value_shap_correlation: the rank correlation
    of a numeric feature's value with its SHAP contribution (near +1: higher
    values raise the score; near -1: they lower it; None for categories and
    features with too few values).
    """
    if contributions is None:
        contributions = model.contributions(X_sample)
    mean_abs = np.abs(contributions[:, :-1]).mean(axis=0)
    gain = model.feature_gain()
    splits = model.feature_splits()
    total_gain = sum(gain.values())
    categorical = set(model.encoder_.categorical_levels_)
    rows = [
        {
            "feature": name,
            "gain": gain[name],
            "gain_share": gain[name] / total_gain if total_gain else 0.0,
            "splits": splits[name],
            "mean_abs_shap": float(mean_abs[j]),
            "value_shap_correlation": None
            if name in categorical or name not in X_sample.columns
            else _rank_correlation(X_sample[name], contributions[:, j]),
        }
        for j, name in enumerate(model.features_)
    ]
    rows.sort(key=lambda r: (-r["mean_abs_shap"], -r["gain"], r["feature"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows


def _rank_correlation(values: pd.Series, contributions: np.ndarray) -> float | None:
    """Spearman correlation of a feature's values with its SHAP values (None if undefined)."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    keep = np.isfinite(x)
    if keep.sum() < 10:
        return None
    x_rank = pd.Series(x[keep]).rank().to_numpy()
    s_rank = pd.Series(contributions[keep]).rank().to_numpy()
    if x_rank.std() == 0 or s_rank.std() == 0:
        return None
    return float(np.corrcoef(x_rank, s_rank)[0, 1])


def top_contributions(contributions: np.ndarray, k: int = N_REASONS) -> np.ndarray:
    """Column indices of the ``k`` largest |contribution| per row, shape (n_rows, k).

    ``contributions`` is (n_rows, n_features) without the expected-value column.
    Ties go to the feature that comes first in model column order, so the
    result does not depend on the sort algorithm.

    One pass over the columns keeps a running top k per row (a new value enters
    only if strictly larger, which keeps the lower column first among equals):
    the same result as a stable sort of each row, without sorting all features.
    """
    n_rows, n_features = contributions.shape
    k = min(k, n_features)
    top = np.zeros((k, n_rows), dtype=np.intp)
    for start in range(0, n_rows, _TOP_CHUNK_ROWS):
        stop = min(start + _TOP_CHUNK_ROWS, n_rows)
        # |contribution| >= 0, so the first k columns always enter.
        best = np.full((k, stop - start), -1.0)
        index = top[:, start:stop]
        for j in range(n_features):
            value = np.abs(contributions[start:stop, j])
            larger = best < value  # (k, chunk): slot s is beaten by column j
            # Slots from the bottom up: slot s takes the value of slot s-1 if that
            # is beaten too (the new value goes above it), else the new value if
            # s is beaten, else keeps its own.
            for slot in range(k - 1, -1, -1):
                takes_new = larger[slot]
                if slot > 0:
                    shifts = larger[slot - 1]
                    takes_new = takes_new & ~shifts
                    np.copyto(best[slot], best[slot - 1], where=shifts)
                    np.copyto(index[slot], index[slot - 1], where=shifts)
                np.copyto(best[slot], value, where=takes_new)
                np.copyto(index[slot], j, where=takes_new)
    return top.T


# Rows per chunk of top_contributions: the running top k stays in the CPU cache.
_TOP_CHUNK_ROWS = 16_384


def _format_numbers(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Human-readable text of float values: a text id per value, and the texts.

    NaN -> 'missing' (the last text). Formats each distinct value once: there are
    far fewer than rows (counts, days, rounded rates).
    """
    present = ~np.isnan(values)
    rounded = np.round(values[present], 4)
    uniques, inverse = np.unique(rounded, return_inverse=True)
    text_id = np.full(values.shape, len(uniques), dtype=np.intp)
    text_id[present] = inverse.reshape(-1)
    return text_id, [_format_number(v) for v in uniques] + [MISSING_LEVEL_TEXT]


def _format_number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 1:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return np.format_float_positional(value, precision=2, fractional=False, trim="-")


def _text_column(texts: list[str], text_id: np.ndarray, null: np.ndarray) -> pa.DictionaryArray:
    """``texts[text_id]`` as an Arrow dictionary array, null where ``null``.

    Each row holds a 4-byte index into the short list of texts, so a block's reason
    columns take a few MiB however long the sentences are (at 2.4M customers the
    twelve columns as plain text were about 0.9 GiB); DuckDB reads it as VARCHAR.
    """
    return pa.DictionaryArray.from_arrays(
        pa.array(text_id, type=pa.int32(), mask=null), pa.array(texts, type=pa.large_string())
    )


def reasons(
    model: PropensityModel,
    X: pd.DataFrame,
    contributions: np.ndarray,
    k: int = N_REASONS,
) -> pd.DataFrame:
    """:func:`reason_columns` as a pandas frame of ``str`` columns, indexed like ``X``."""
    frame = pd.DataFrame(
        {
            name: pd.Series(pd.array(column.dictionary.take(column.indices), dtype="str"))
            for name, column in reason_columns(model, X, contributions, k).items()
        }
    )  # positional: the Series above are numbered 0..n-1
    frame.index = X.index
    return frame


def reason_columns(
    model: PropensityModel,
    X: pd.DataFrame,
    contributions: np.ndarray,
    k: int = N_REASONS,
) -> dict[str, pa.DictionaryArray]:
    """The ``k`` strongest per-customer reasons, as text and as structured columns.

    ``X`` is the encoded matrix (n_rows, n_features) the contributions were
    computed on; ``contributions`` is (n_rows, n_features + 1). Returns, in this
    order, for i in 1..k: reason_i (e.g. "days_since_last_order = 12 raises the
    score"), reason_i_feature, reason_i_value (text), reason_i_direction
    ('raises' or 'lowers'), each an Arrow dictionary array of text, one value per
    row of ``X``. A slot whose contribution is exactly 0 (the model uses fewer
    features than k for that row) is null.

    Each distinct (feature, value) text and each distinct sentence is built once
    and the columns are filled by index, because there are far fewer of them
    than customers.
    """
    contrib = contributions[:, :-1]
    n_rows, n_features = contrib.shape
    top = top_contributions(contrib, k)
    top_values = np.take_along_axis(contrib, top, axis=1)
    names = list(model.features_)

    # Per (row, slot): an id into value_texts, whose feature and missingness are known.
    # The (row, slot) cells are visited feature by feature through one stable sort
    # (cells of a feature stay in row order) instead of a mask per feature.
    cells = top.ravel()
    order = np.argsort(cells, kind="stable")
    features, starts = np.unique(cells[order], return_index=True)
    value_id = np.zeros(cells.shape, dtype=np.intp)
    value_texts: list[str] = []
    value_feature: list[int] = []
    value_missing: list[bool] = []
    bounds = np.append(starts, len(cells))
    for j, start, stop in zip(features, bounds[:-1], bounds[1:], strict=True):
        positions = order[start:stop]
        row_index = positions // top.shape[1]
        column = X.iloc[:, int(j)]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy()[row_index]
            categories = [str(c) for c in column.cat.categories]
            local = np.where(codes < 0, len(categories), codes)
            texts = [*categories, MISSING_LEVEL_TEXT]
        else:
            local, texts = _format_numbers(column.to_numpy(dtype="float64")[row_index])
        value_id[positions] = len(value_texts) + local
        value_texts.extend(texts)
        value_feature.extend([int(j)] * len(texts))
        value_missing.extend([False] * (len(texts) - 1) + [True])
    value_id = value_id.reshape(top.shape)

    # Sentence ids: value id x direction; build the sentences that occur.
    raises = top_values > 0
    sentence_key = value_id * 2 + raises
    used = np.zeros(2 * len(value_texts), dtype=bool)
    used[sentence_key] = True
    keys = np.flatnonzero(used)
    sentence_id = np.cumsum(used) - 1
    sentences = []
    for key in keys.tolist():
        text_id, direction = divmod(key, 2)
        feature = names[value_feature[text_id]]
        verb = "raises" if direction else "lowers"
        if value_missing[text_id]:
            sentences.append(f"{feature} is missing {verb} the score")
        else:
            sentences.append(f"{feature} = {value_texts[text_id]} {verb} the score")

    out = {}
    for i in range(k):
        slot = f"reason_{i + 1}"
        if i >= top.shape[1]:
            # The model has fewer features than k.
            nothing = np.zeros(n_rows, dtype=np.intp)
            for suffix in ("", "_feature", "_value", "_direction"):
                out[slot + suffix] = _text_column([], nothing, np.ones(n_rows, dtype=bool))
            continue
        empty = top_values[:, i] == 0
        out[slot] = _text_column(sentences, sentence_id[sentence_key[:, i]], empty)
        out[slot + "_feature"] = _text_column(names, top[:, i], empty)
        out[slot + "_value"] = _text_column(value_texts, value_id[:, i], empty)
        out[slot + "_direction"] = _text_column(
            ["lowers", "raises"], raises[:, i].astype(np.intp), empty
        )
    return out
