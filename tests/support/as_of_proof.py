"""Helpers of the whole-pipeline as-of proof: compare the public tables of two builds (the
export is cut at a date by segment_and_predict.data.export_cut).

Kept apart from the tests so the default-data and the CDNOW proofs share them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

# Tables that describe the export itself rather than what was scored as of the
# date: which raw tables were read and how many rows they had (data_sources),
# and how many rows the bad-input rules quarantined (data_quality_issues). A
# cut export has fewer rows by construction, so these legitimately differ.
EXPORT_DESCRIPTION_TABLES = {"data_sources", "data_quality_issues"}

# Columns that legitimately differ between two builds of the same as-of date:
# when a model was trained, the ids made from that time, and the fingerprint of
# the training rows (which also covers the settings and library versions, and
# so equals only between identical runs). Model JSON of the segmenter embeds its
# own id; its content is compared through the centroids and preprocessing.
RUN_COLUMNS = {
    "trained_at",
    "model_id",
    "segment_model_id",
    "propensity_model_id",
    "matched_to_model_id",
    "training_fingerprint",
}


def _is_run_column(table: str, column: str) -> bool:
    if column in RUN_COLUMNS or column.endswith("_model_id"):
        return True
    # the segmenter's JSON carries its id (metadata); its centroids and
    # preprocessing are compared through centroids_json / preprocessing_json
    return table == "segment_models" and column == "model_json"


def public_tables(warehouse_file: Path) -> dict[str, pd.DataFrame]:
    """Every table and view of schema main, without the export-describing tables and run columns."""
    with duckdb.connect(str(warehouse_file), read_only=True) as con:
        names = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'main' order by table_name"
            ).fetchall()
        ]
        frames = {}
        for name in names:
            if name in EXPORT_DESCRIPTION_TABLES:
                continue
            frame = con.execute(f'select * from main."{name}"').df()
            keep = [c for c in frame.columns if not _is_run_column(name, c)]
            frames[name] = frame[keep]
    return frames


NUMBER = re.compile(r"(-?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)")


def _close_text(x: str, y: str, atol: float) -> bool:
    """Equal text, except that numbers written in it may differ in their last digits.

    LightGBM's model text (inside propensity_models.model_json) writes split
    thresholds, leaf values, gains and feature ranges as decimals: the words and
    the tree structure must be identical, the numbers equal to 1e-9.
    """
    if x == y:
        return True
    xs, ys = NUMBER.split(x), NUMBER.split(y)
    if len(xs) != len(ys):
        return False
    for i, (a, b) in enumerate(zip(xs, ys, strict=True)):
        if i % 2 == 0:
            if a != b:
                return False
        elif not np.isclose(float(a), float(b), rtol=1e-9, atol=atol):
            return False
    return True


def _close(x: object, y: object, atol: float) -> bool:
    """Equal, with numbers (also inside JSON and model text) equal to ``atol`` or 1e-9 relative."""
    if isinstance(x, str) and isinstance(y, str) and x[:1] in "[{" and y[:1] in "[{":
        try:
            return _close(json.loads(x), json.loads(y), atol)
        except ValueError:
            return _close_text(x, y, atol)
    if isinstance(x, str) and isinstance(y, str):
        return _close_text(x, y, atol)
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_close(x[k], y[k], atol) for k in x)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(_close(i, j, atol) for i, j in zip(x, y, strict=True))
    numbers = (int, float, np.floating, np.integer)
    if isinstance(x, numbers) and isinstance(y, numbers) and not isinstance(x, bool):
        return bool(np.isclose(float(x), float(y), rtol=1e-9, atol=atol, equal_nan=True))
    if x is None or y is None or x is pd.NA or y is pd.NA:
        return (x is None or x is pd.NA) and (y is None or y is pd.NA)
    try:
        if pd.isna(x) and pd.isna(y):
            return True
    except (TypeError, ValueError):
        pass
    return x == y


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in frame.columns if not pd.api.types.is_float_dtype(frame[c])]
    if not keys:
        keys = list(frame.columns)
    order = frame[keys].astype("string").fillna("<null>")
    return frame.loc[order.sort_values(keys, kind="stable").index].reset_index(drop=True)


def table_differences(
    full: dict[str, pd.DataFrame], cut: dict[str, pd.DataFrame], *, atol: float = 1e-9
) -> list[str]:
    """Plain descriptions of every difference between two sets of public tables (empty if none).

    Floats must agree to ``atol`` (absolute) or 1e-9 relative; every other value exactly.
    """
    problems = []
    if set(full) != set(cut):
        problems.append(f"different tables: {sorted(set(full) ^ set(cut))}")
    for name in sorted(set(full) & set(cut)):
        a, b = _sorted(full[name]), _sorted(cut[name])
        if list(a.columns) != list(b.columns):
            problems.append(f"{name}: different columns")
            continue
        if len(a) != len(b):
            problems.append(f"{name}: {len(a)} rows in the full build, {len(b)} in the cut one")
            continue
        for column in a.columns:
            x, y = a[column], b[column]
            if pd.api.types.is_float_dtype(x) and pd.api.types.is_float_dtype(y):
                xs, ys = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
                same = np.isclose(xs, ys, rtol=1e-9, atol=atol, equal_nan=True)
            else:
                same = np.array(
                    [_close(i, j, atol) for i, j in zip(x.tolist(), y.tolist(), strict=True)],
                    dtype=bool,
                )
            if not same.all():
                i = int(np.flatnonzero(~same)[0])
                problems.append(
                    f"{name}.{column}: {int((~same).sum())} of {len(a)} rows differ "
                    f"(e.g. {x.iloc[i]!r} vs {y.iloc[i]!r})"
                )
    return problems
