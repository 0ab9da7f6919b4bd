"""What the segmenter's training job reads: the latest snapshot, and the latest
labelled one with its label (segment_and_predict.ml.segmentation.inputs)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from segment_and_predict.ml.labels import label_column
from segment_and_predict.ml.segmentation.inputs import observed_purchase_rates, segmenter_snapshots

LABEL = label_column()


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute(
        """
        create table snapshot_dates as select * from (values
            (date '2026-01-01', true), (date '2026-02-01', true), (date '2026-03-01', false)
        ) t(as_of_date, is_label_observed);
        create table features as
        select 'c' || i as customer_id, d.as_of_date, i * 10 + month(d.as_of_date) as orders_365d
        from range(4) r(i) cross join snapshot_dates d;
        create table labels as
        select customer_id, as_of_date,
               case when is_label_observed then orders_365d % 2 = 0 end as purchased_next_30d
        from features join snapshot_dates using (as_of_date);
        """
    )
    yield con
    con.close()


def test_the_latest_date_to_fit_on_and_the_latest_labelled_date_with_its_label(con):
    latest, labelled = segmenter_snapshots(
        con.table("features"), con.table("labels"), con.table("snapshot_dates"), label=LABEL
    )
    assert list(latest.columns) == ["customer_id", "as_of_date", "orders_365d"]
    assert set(pd.to_datetime(latest["as_of_date"]).dt.strftime("%Y-%m-%d")) == {"2026-03-01"}
    assert list(labelled.columns) == ["customer_id", "as_of_date", "orders_365d", LABEL]
    assert set(pd.to_datetime(labelled["as_of_date"]).dt.strftime("%Y-%m-%d")) == {"2026-02-01"}
    assert labelled["customer_id"].tolist() == ["c0", "c1", "c2", "c3"]
    assert labelled[LABEL].tolist() == [True, True, True, True]  # 2, 12, 22, 32 are even


def test_no_labelled_date_gives_no_labelled_rows_and_no_rates(con):
    con.execute("update snapshot_dates set is_label_observed = false")
    latest, labelled = segmenter_snapshots(
        con.table("features"), con.table("labels"), con.table("snapshot_dates"), label=LABEL
    )
    assert len(latest) == 4
    assert labelled.empty
    assert observed_purchase_rates(labelled, "{}", label=LABEL) == {}


def test_the_labelled_rows_hold_only_the_columns_asked_for(con):
    # the job reads the labelled date with the segmenter's columns only (it only assigns
    # segments to it); a column customer_features lacks is left to the segmenter to name
    con.execute("alter table features add column tenure_days integer default 400")
    latest, labelled = segmenter_snapshots(
        con.table("features"),
        con.table("labels"),
        con.table("snapshot_dates"),
        label=LABEL,
        labelled_columns=["tenure_days", "not_a_feature"],
    )
    assert list(latest.columns) == ["customer_id", "as_of_date", "orders_365d", "tenure_days"]
    assert list(labelled.columns) == ["customer_id", "as_of_date", "tenure_days", LABEL]
    assert labelled[LABEL].tolist() == [True, True, True, True]
