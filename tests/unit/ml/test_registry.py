"""The training fingerprint that keeps a rerun from appending a model twice."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from segment_and_predict.ml import propensity, segmentation
from segment_and_predict.ml.registry import (
    FINGERPRINT_COLUMN,
    newest_training_fingerprint,
    training_fingerprint,
)

SETTINGS = {"gate": {"roc_auc": 0.82}, "num_threads": 2}
VERSIONS = {"lightgbm": "4.6.0"}


@pytest.fixture
def rows():
    return pd.DataFrame(
        {
            "as_of_date": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-02-01"]),
            "customer_id": ["c1", "c2", "c1"],
            "orders_30d": [1, None, 3],
            "purchased_next_30d": [True, False, True],
        }
    )


def fingerprint(rows, settings=SETTINGS, versions=VERSIONS, code=propensity):
    return training_fingerprint(rows, settings=settings, library_versions=versions, code=code)


def test_the_same_inputs_give_the_same_fingerprint(rows):
    assert fingerprint(rows) == fingerprint(rows.copy())
    assert len(fingerprint(rows)) == 64


def test_any_change_to_the_inputs_changes_it(rows):
    base = fingerprint(rows)
    changed_value = rows.copy()
    changed_value.loc[1, "orders_30d"] = 0  # a null that became 0 is a change
    changed_type = rows.astype({"orders_30d": "float32"})
    renamed = rows.rename(columns={"orders_30d": "orders_90d"})
    others = {
        "a value": fingerprint(changed_value),
        "a column type": fingerprint(changed_type),
        "a column name": fingerprint(renamed),
        "one row fewer": fingerprint(rows.iloc[:2]),
        "the row order": fingerprint(rows.iloc[::-1]),
        "a setting": fingerprint(rows, settings={**SETTINGS, "num_threads": 1}),
        "a library version": fingerprint(rows, versions={"lightgbm": "4.6.1"}),
        "the training code": fingerprint(rows, code=segmentation),
    }
    assert {name for name, value in others.items() if value == base} == set()
    assert len(set(others.values())) == len(others)


def test_newest_fingerprint_reads_the_newest_row_and_tolerates_old_registries():
    with duckdb.connect() as con:
        con.execute("create table old_registry (model_id varchar, trained_at timestamptz)")
        con.execute("insert into old_registry values ('m1', now())")
        assert newest_training_fingerprint(con, "old_registry") is None

        con.execute(
            f"create table registry (model_id varchar, trained_at timestamptz, "
            f"{FINGERPRINT_COLUMN} varchar)"
        )
        assert newest_training_fingerprint(con, "registry") is None
        con.execute(
            "insert into registry values "
            "('m1', timestamptz '2026-01-01 00:00:00+00', 'aaa'), "
            "('m2', timestamptz '2026-02-01 00:00:00+00', 'bbb'), "
            "('m0', timestamptz '2025-12-01 00:00:00+00', 'ccc')"
        )
        assert newest_training_fingerprint(con, "registry") == "bbb"


def test_rows_in_several_frames_are_hashed_in_turn(rows):
    # the segmenter's run hands over its two snapshots as they are (no concatenation)
    parts = (rows.iloc[:2], rows.iloc[2:])
    assert fingerprint(parts) == fingerprint((rows.iloc[:2].copy(), rows.iloc[2:].copy()))
    changed = (rows.iloc[:2], rows.iloc[2:].assign(orders_30d=[4.0]))
    split_elsewhere = (rows.iloc[:1], rows.iloc[1:])
    others = {fingerprint(changed), fingerprint(split_elsewhere), fingerprint(parts[::-1])}
    assert fingerprint(parts) not in others
    assert len(others) == 3


def test_floats_that_differ_only_in_their_last_bits_are_the_same_input(rows):
    # DuckDB sums in parallel: an average can differ by ~1e-14 from one build to the next
    floats = rows.astype({"orders_30d": "float64"})
    nudged = floats.assign(orders_30d=floats["orders_30d"] * (1 + 1e-14))
    assert fingerprint(nudged) == fingerprint(floats)
    assert fingerprint(floats.assign(orders_30d=floats["orders_30d"] * 1.001)) != fingerprint(
        floats
    )
