"""Integration: the full build with only the required tables (customers and orders).

A new business often has nothing but purchase history. With every optional table
absent (no file), or present but empty (a file with the contract's columns and no
rows), the build must still pass every test, leave the features of the missing
tables null, train both models on the features that remain (and say which), score
and segment every customer, and record which tables it read.
"""

from __future__ import annotations

import json

import duckdb
import pyarrow.parquet as pq
import pytest
from dbt_helpers import REPO_ROOT, assert_dbt_ok, read_table

from segment_and_predict.data.contract import OPTIONAL_TABLES, REQUIRED_TABLES, TABLES_BY_NAME
from segment_and_predict.data.generator.writer import arrow_schema
from segment_and_predict.dbt.jobs import Warehouse, full_build
from segment_and_predict.report import write_report

# Half the session's small data set keeps the two builds quick.
CUSTOMERS = 2_000
KEYS = {"customer_id", "as_of_date"}


def _write_required_tables(source, target) -> None:
    """customers and orders of the first CUSTOMERS customers of ``source``."""
    target.mkdir(parents=True)
    with duckdb.connect() as con:
        con.execute(
            f"create view kept as select customer_id from '{source}/customers.parquet' "
            f"order by customer_id limit {CUSTOMERS}"
        )
        for table in REQUIRED_TABLES:
            con.execute(
                f"copy (select * from '{source}/{table}.parquet' "
                f"where customer_id in (select customer_id from kept)) "
                f"to '{target}/{table}.parquet' (format parquet)"
            )


@pytest.fixture(scope="module", params=["absent", "empty"])
def reduced_build(request, small_raw_data, tmp_path_factory):
    raw = tmp_path_factory.mktemp(f"raw_{request.param}") / "raw"
    _write_required_tables(small_raw_data, raw)
    if request.param == "empty":
        for table in OPTIONAL_TABLES:
            empty = arrow_schema(TABLES_BY_NAME[table]).empty_table()
            pq.write_table(empty, raw / f"{table}.parquet")
    warehouse = Warehouse.from_paths(REPO_ROOT, raw, raw.parent / "reduced.duckdb")
    assert_dbt_ok(full_build(warehouse, capture=True))
    return request.param, warehouse


def _features_by_table(warehouse) -> dict[str, list[str]]:
    sources = read_table(warehouse, "select table_name, feeds_features from data_sources")
    return {
        row.table_name: [f for f in row.feeds_features.split(", ") if f]
        for row in sources.itertuples()
    }


def test_data_sources_records_customers_and_orders_only(reduced_build):
    variant, warehouse = reduced_build
    sources = read_table(warehouse, "select * from data_sources order by contract_position")
    assert sources["table_name"].tolist() == list(TABLES_BY_NAME)
    status = dict(zip(sources["table_name"], sources["status"], strict=True))
    assert status == {
        **{t: "present" for t in REQUIRED_TABLES},
        **{t: variant for t in OPTIONAL_TABLES},
    }
    rows = dict(zip(sources["table_name"], sources["row_count"], strict=True))
    assert rows["customers"] == CUSTOMERS and rows["orders"] > CUSTOMERS
    assert all(rows[t] == 0 for t in OPTIONAL_TABLES)

    profiles = read_table(warehouse, "select distinct data_sources_present from segment_profiles")
    assert profiles["data_sources_present"].tolist() == ["customers, orders"]


def test_every_feature_has_one_source_and_missing_sources_give_nulls(reduced_build):
    _, warehouse = reduced_build
    by_table = _features_by_table(warehouse)
    fed = [f for features in by_table.values() for f in features]
    columns = read_table(warehouse, "select * from customer_features limit 0").columns
    assert sorted(fed) == sorted(set(columns) - KEYS)  # each feature exactly once

    optional = [f for t in OPTIONAL_TABLES for f in by_table[t]]
    non_null = read_table(
        warehouse,
        "select " + ", ".join(f"count({f}) as {f}" for f in optional) + " from customer_features",
    ).iloc[0]
    assert non_null.to_dict() == dict.fromkeys(optional, 0)
    # the order features are real: most customers have bought before the scoring date
    bought = read_table(
        warehouse,
        "select avg((orders_365d > 0)::int) as share from customer_features "
        "where as_of_date = (select max(as_of_date) from customer_features)",
    ).iloc[0]["share"]
    assert bought > 0.3


def test_both_models_train_on_the_remaining_features_and_say_which(reduced_build):
    _, warehouse = reduced_build
    by_table = _features_by_table(warehouse)
    optional = {f for t in OPTIONAL_TABLES for f in by_table[t]}
    required = {f for t in REQUIRED_TABLES for f in by_table[t]}

    model = read_table(
        warehouse, "select * from propensity_models order by trained_at desc limit 1"
    ).iloc[0]
    used = json.loads(model["features_json"])
    dropped = {d["feature"]: d["reason"] for d in json.loads(model["dropped_features_json"])}
    assert used and set(used) <= required
    assert model["n_features"] == len(used)
    assert {f: dropped.get(f) for f in optional} == dict.fromkeys(
        optional, "all null in training rows"
    )
    assert bool(model["passed_quality_gate"])
    # the comparison with the baselines is recorded either way
    assert model["beats_baselines"] == (
        model["roc_auc"] > max(model["logreg_roc_auc"], model["rule_roc_auc"])
        and model["pr_auc"] > max(model["logreg_pr_auc"], model["rule_pr_auc"])
    )

    segmenter = read_table(
        warehouse, "select * from segment_models order by trained_at desc limit 1"
    ).iloc[0]
    inputs = json.loads(segmenter["features_json"])
    left_out = json.loads(segmenter["dropped_features_json"])
    # clustering inputs are order features (and indicators derived from them)
    assert inputs and all(any(f.startswith(r) for r in required) for f in inputs)
    assert not any(f.startswith(o) for f in inputs for o in optional)
    assert {f for f, reason in left_out.items() if reason == "all null"} <= optional
    assert any(f in optional for f in left_out)
    assert bool(segmenter["passed_quality_gate"])


def test_every_customer_is_scored_and_segmented(reduced_build):
    _, warehouse = reduced_build
    counts = read_table(
        warehouse,
        """
        with latest as (select max(as_of_date) as d from customer_features)
        select
            (select count(*) from customer_features, latest where as_of_date = d) as customers,
            (select count(*) from propensity_scores, latest where as_of_date = d) as scored,
            (select count(*) from customer_segments, latest where as_of_date = d) as segmented,
            (select count(reason_1) from propensity_scores, latest where as_of_date = d)
                as with_reason
        """,
    ).iloc[0]
    assert counts.to_dict() == dict.fromkeys(counts.index, CUSTOMERS)


def test_report_names_the_tables_the_build_read(reduced_build, tmp_path):
    variant, warehouse = reduced_build
    html = write_report(warehouse.warehouse_path, tmp_path / "report.html").read_text()
    assert "Built from customers, orders only" in html
    sources = html.split('id="sources"')[1]
    assert f"{len(OPTIONAL_TABLES)} optional tables were absent or empty" in sources
    assert sources.count(f">{variant}</span>") == len(OPTIONAL_TABLES)
