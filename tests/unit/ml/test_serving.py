"""What the dbt Python models read: training rows (with the row cap) and the scoring snapshot."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from segment_and_predict.data.values import as_text, to_float
from segment_and_predict.ml.labels import label_column
from segment_and_predict.ml.segmentation.preprocessing import numeric_column
from segment_and_predict.ml.serving import (
    fetch_in_key_order,
    in_key_order,
    relation_blocks,
    relation_frame,
    scoring_blocks,
    scoring_snapshot,
    training_rows,
)

LABEL = label_column()


@pytest.fixture
def relations():
    con = duckdb.connect()
    con.execute(
        """
        create table snapshot_dates as
        select * from (values
            (date '2026-01-01', true, true, false),
            (date '2026-02-01', true, true, false),
            (date '2026-03-01', true, false, false),
            (date '2026-04-01', false, false, true)
        ) t(as_of_date, is_training_snapshot, is_label_observed, is_scoring_snapshot)
        """
    )
    con.execute(
        """
        create table features as
        select 'c' || lpad(i::varchar, 5, '0') as customer_id, d.as_of_date, i % 7 as orders_30d
        from range(20000) r(i) cross join snapshot_dates d
        """
    )
    con.execute(
        """
        create table labels as
        select customer_id, as_of_date,
               case when d.is_label_observed then orders_30d % 3 = 0 end as purchased_next_30d,
               orders_30d % 2 = 0 as purchased_next_7d
        from features join snapshot_dates d using (as_of_date)
        """
    )
    yield con.table("features"), con.table("labels"), con.table("snapshot_dates")
    con.close()


def test_training_rows_are_the_labelled_training_snapshots_in_key_order(relations):
    features, labels, dates = relations
    rows = training_rows(features, labels, dates, label=LABEL, max_rows=10**9)
    assert len(rows) == 40000
    # the features and the one label asked for, joined on the keys, label last
    assert list(rows.columns) == ["customer_id", "as_of_date", "orders_30d", LABEL]
    assert (rows[LABEL] == (rows["orders_30d"] % 3 == 0)).all()
    assert sorted(rows["as_of_date"].astype(str).unique()) == ["2026-01-01", "2026-02-01"]
    keys = list(zip(rows["as_of_date"], rows["customer_id"], strict=True))
    assert keys == sorted(keys)


def test_training_rows_beyond_the_cap_are_a_stable_sample_of_whole_customers(relations):
    features, labels, dates = relations
    capped = training_rows(features, labels, dates, label=LABEL, max_rows=10000)
    # About a quarter of the 20,000 customers, each with both snapshots.
    assert 8000 <= len(capped) <= 12000
    per_customer = capped.groupby("customer_id").size()
    assert (per_customer == 2).all()
    again = training_rows(features, labels, dates, label=LABEL, max_rows=10000)
    assert capped.equals(again)


def test_training_rows_reject_a_non_positive_cap(relations):
    features, labels, dates = relations
    with pytest.raises(ValueError, match="max_rows"):
        training_rows(features, labels, dates, label=LABEL, max_rows=0)


def test_training_rows_name_a_label_the_labels_do_not_have(relations):
    features, labels, dates = relations
    with pytest.raises(ValueError, match="purchased_next_14d.*same label_window_days"):
        training_rows(features, labels, dates, label="purchased_next_14d", max_rows=10)


def test_rows_sorted_by_duckdb_equal_rows_sorted_by_pandas():
    con = duckdb.connect()
    con.execute("set threads=2; set preserve_insertion_order=false")
    rel = con.sql(
        """
        select c.id as customer_id, i as value,
               date '2026-01-01' + (30 * (i % 3))::integer as as_of_date
        from range(3000) r(i)
        cross join (values ('A' || (i % 997)), ('a' || (i % 997)), ('é' || i)) c(id)
        """
    )
    rel = rel.aggregate("customer_id, as_of_date, min(value) as value")
    fetched = fetch_in_key_order(rel)
    # read through Arrow: the integers as pandas' nullable type (relation_frame)
    pd.testing.assert_frame_equal(fetched, in_key_order(relation_frame(rel)))
    pd.testing.assert_frame_equal(fetched, in_key_order(rel.df()), check_dtype=False)
    assert fetched.index.equals(pd.RangeIndex(len(fetched)))


def test_training_rows_refuse_features_that_hold_a_label(relations):
    features, labels, dates = relations
    leaky = features.project(f"*, true as {LABEL}")
    with pytest.raises(ValueError, match="label lives in customer_labels"):
        training_rows(leaky, labels, dates, label=LABEL, max_rows=10)


def test_the_empty_scores_have_the_columns_of_real_scores():
    """What propensity_scores publishes while no model serves has every column a
    scored table has, in order (its tests and the campaign tables read them)."""
    from segment_and_predict.ml.propensity.scoring import SCORE_COLUMNS
    from segment_and_predict.ml.serving import SCORES_SCHEMA

    assert SCORES_SCHEMA.names == list(SCORE_COLUMNS)


def test_a_frame_read_through_arrow_holds_the_values_duckdb_df_gives():
    # relation_frame replaces .df() for the scoring snapshot: every reader (the
    # encoder's to_float / as_text, the segmenter's numeric_column) must see the
    # same values and nulls, whatever the column type and however many nulls
    con = duckdb.connect()
    relation = con.sql(
        "select * from (values "
        "('a', 1, 10, true, 1.5, date '2024-01-01', 7::integer, 0.1), "
        "(null, null, 20, null, 'nan'::double, date '2024-01-02', null, null), "
        "('c', 3, 30, false, null, null, 9::integer, 2.5), "
        "('d', -4, 40, true, 'inf'::double, date '2024-01-04', 0::integer, -3.7)) "
        "as t(text, int_nulls, int_full, flag, number, day, small, fixed_point)"
    )
    arrow_frame, duckdb_frame = relation_frame(relation), relation.df()
    assert list(arrow_frame.columns) == list(duckdb_frame.columns)
    for name in ("int_nulls", "int_full", "flag", "number", "small", "fixed_point"):
        np.testing.assert_array_equal(
            to_float(arrow_frame[name]).to_numpy(), to_float(duckdb_frame[name]).to_numpy()
        )
        np.testing.assert_array_equal(
            numeric_column(arrow_frame, name), numeric_column(duckdb_frame, name)
        )
    assert as_text(arrow_frame["text"]).tolist() == as_text(duckdb_frame["text"]).tolist()
    assert arrow_frame["text"].dtype == duckdb_frame["text"].dtype
    pd.testing.assert_series_equal(arrow_frame["day"], duckdb_frame["day"])
    # an empty relation keeps its columns
    assert list(relation_frame(relation.filter("false")).columns) == list(duckdb_frame.columns)


def test_a_relation_read_in_blocks_is_the_frame_read_at_once(relations):
    # the daily scoring reads its snapshot a block at a time (relation_blocks): the
    # blocks together are relation_frame's rows and types, every block but the last full
    features, _, _ = relations
    ordered = features.order("as_of_date, customer_id")  # 80,000 rows: DuckDB hands chunks
    blocks = list(relation_blocks(ordered, 30_000))
    assert [len(block) for block in blocks] == [30_000, 30_000, 20_000]
    together = pd.concat(blocks, ignore_index=True)
    pd.testing.assert_frame_equal(together, relation_frame(ordered))
    assert [len(block) for block in relation_blocks(ordered, 40_000)] == [40_000, 40_000]
    # no rows: one empty frame with the columns and types
    (empty,) = relation_blocks(features.filter("false"), 30_000)
    assert len(empty) == 0
    assert empty.dtypes.to_dict() == relation_frame(features.filter("false")).dtypes.to_dict()
    with pytest.raises(ValueError, match="at least 1"):
        next(relation_blocks(features, 0))


def test_the_scoring_blocks_are_the_scoring_snapshot(relations):
    features, _, dates = relations
    blocks = list(scoring_blocks(features, dates, 7_000))
    assert [len(block) for block in blocks] == [7_000, 7_000, 6_000]
    snapshot = scoring_snapshot(features, dates)
    assert set(snapshot["as_of_date"]) == {pd.Timestamp("2026-04-01")}
    pd.testing.assert_frame_equal(
        pd.concat(blocks, ignore_index=True).sort_values("customer_id", ignore_index=True),
        snapshot.sort_values("customer_id", ignore_index=True),
    )
