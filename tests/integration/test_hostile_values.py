"""Hostile values in the raw export (docs/bad_inputs.md, section "Hostile values").

Two dbt runs serve every case, each on a copy of the session's built warehouse:

- ``nonfinite_daily``: one export with NaN, +inf, -inf, 1e308 amounts and values
  beyond the contract's sane ranges in every kind of numeric column (amounts,
  counts, a duration, float and integer columns). The daily job quarantines those
  rows, counts them in data_quality_issues and scores everyone else exactly as a
  clean export would.
- ``refused_daily``: one export with an all-null required column, a mostly-null
  required column and mixed-case column names. The first step of the build refuses
  it with one sentence per problem, and no public table changes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dbt_helpers import REPO_ROOT, public_table_checksums, read_table
from dbt_helpers import rewrite_parquet as _rewrite

from segment_and_predict.dbt.jobs import Warehouse, daily_build, run_dbt

TRACEBACK = "Traceback (most recent call last)"


def _output(result) -> str:
    return result.stdout + result.stderr


def _serving_copy(built_warehouse: Warehouse, raw: Path, folder: Path) -> Warehouse:
    """A copy of the built warehouse that reads the raw export ``raw``."""
    copy = folder / "wh.duckdb"
    shutil.copy(built_warehouse.warehouse_path, copy)
    return Warehouse.from_paths(REPO_ROOT, raw, copy)


# --------------------------------------------------------------------------
# QUARANTINE: NaN, +-inf and insane values, in one daily run
# --------------------------------------------------------------------------

# New rows (new keys, existing customers and orders, valid dates): each copies a
# real row and breaks one numeric column, so a clean build is the expected result.
ORDER_VALUES = """
    with base as (select * from t where order_id = (select min(order_id) from t))
    select * from t
    union all select * replace (order_id + 900000001 as order_id, 'nan'::double as order_total)
        from base
    union all select * replace (order_id + 900000002 as order_id, 'inf'::double as order_total)
        from base
    union all select * replace (order_id + 900000003 as order_id, '-inf'::double as order_total)
        from base
    -- two amounts that fit a double but sum to inf
    union all select * replace (order_id + 900000004 as order_id, 1e308 as order_total) from base
    union all select * replace (order_id + 900000005 as order_id, 1e308 as order_total) from base
    union all select * replace (
        order_id + 900000006 as order_id, 'nan'::double as discount_amount) from base
"""
ORDER_LINE_VALUES = """
    with base as (select * from t where order_id = (select min(order_id) from t) limit 1)
    select * from t
    union all select * replace (901 as line_number, 'inf'::double as line_total) from base
    union all select * replace (902 as line_number, 5000000 as quantity) from base
"""
RETURN_VALUES = """
    with base as (select * from t where return_id = (select min(return_id) from t))
    select * from t
    union all select * replace (
        return_id + 900000001 as return_id, 'nan'::double as refund_amount) from base
"""
SESSION_VALUES = """
    with base as (select * from t where session_id = (select min(session_id) from t))
    select * from t
    union all select * replace (
        session_id + 900000001 as session_id, '-inf'::double as duration_seconds) from base
    union all select * replace (
        session_id + 900000002 as session_id, 10000000.0 as duration_seconds) from base
    union all select * replace (
        session_id + 900000003 as session_id, 2000000000 as pages_viewed) from base
"""

# (table, rule, column) -> rows quarantined
EXPECTED_QUARANTINE = {
    ("orders", "non_finite_value", "order_total"): 3,
    ("orders", "beyond_sane_range", "order_total"): 2,
    ("orders", "non_finite_value", "discount_amount"): 1,
    ("order_lines", "non_finite_value", "line_total"): 1,
    ("order_lines", "beyond_sane_range", "quantity"): 1,
    ("returns", "non_finite_value", "refund_amount"): 1,
    ("sessions", "non_finite_value", "duration_seconds"): 1,
    ("sessions", "beyond_sane_range", "duration_seconds"): 1,
    ("sessions", "beyond_sane_range", "pages_viewed"): 1,
}

SCORING_DATE = "select as_of_date from intermediate.int_snapshot_dates where is_scoring_snapshot"


@pytest.fixture(scope="module")
def nonfinite_daily(built_warehouse, small_raw_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("nonfinite")
    raw = folder / "raw"
    shutil.copytree(small_raw_data, raw)
    _rewrite(raw / "orders.parquet", ORDER_VALUES)
    _rewrite(raw / "order_lines.parquet", ORDER_LINE_VALUES)
    _rewrite(raw / "returns.parquet", RETURN_VALUES)
    _rewrite(raw / "sessions.parquet", SESSION_VALUES)
    warehouse = _serving_copy(built_warehouse, raw, folder)
    return daily_build(warehouse, capture=True), warehouse


def test_the_daily_job_goes_on_without_the_hostile_rows(nonfinite_daily):
    result, _ = nonfinite_daily
    assert result.returncode == 0, _output(result)[-4000:]
    assert TRACEBACK not in _output(result)


@pytest.mark.parametrize(
    ("table", "rule", "column"),
    [pytest.param(*key, id=f"{key[0]}-{key[2]}-{key[1]}") for key in EXPECTED_QUARANTINE],
)
def test_non_finite_and_insane_values_are_quarantined_and_counted(
    nonfinite_daily, table, rule, column
):
    _, warehouse = nonfinite_daily
    issues = read_table(warehouse, "select * from data_quality_issues")
    row = issues.query("table_name == @table and rule == @rule and column_name == @column")
    assert len(row) == 1, issues
    assert row["rows_quarantined"].iloc[0] == EXPECTED_QUARANTINE[(table, rule, column)]
    assert row["example_key"].iloc[0]


def test_nothing_else_is_quarantined(nonfinite_daily):
    _, warehouse = nonfinite_daily
    issues = read_table(warehouse, "select table_name, rule, column_name from data_quality_issues")
    assert set(map(tuple, issues.values.tolist())) == set(EXPECTED_QUARANTINE)


def test_features_and_scores_are_exactly_those_of_the_clean_export(
    nonfinite_daily, built_warehouse
):
    """The hostile rows changed nothing: every feature and score as the clean build has them."""
    _, warehouse = nonfinite_daily
    for table in ("customer_features", "propensity_scores"):
        query = f"""
            select * exclude (as_of_date) from {table}
            where as_of_date = ({SCORING_DATE}) order by customer_id
        """
        clean = read_table(built_warehouse, query)
        hostile = read_table(warehouse, query)
        numeric = clean.select_dtypes("number").columns
        assert len(hostile) == len(clean), table
        pd.testing.assert_frame_equal(
            hostile[numeric], clean[numeric], check_exact=False, rtol=1e-9, obj=table
        )


def test_no_public_table_holds_a_non_finite_number(nonfinite_daily):
    _, warehouse = nonfinite_daily
    with duckdb.connect(str(warehouse.warehouse_path), read_only=True) as con:
        columns = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'main' and data_type in ('DOUBLE', 'FLOAT')"
        ).fetchall()
        assert len(columns) > 20
        for table, column in columns:
            (bad,) = con.execute(
                f'select count(*) from main."{table}" where not isfinite("{column}")'
            ).fetchall()[0]
            assert bad == 0, f"{table}.{column}"


def test_a_non_finite_feature_is_stopped_by_the_all_finite_test(nonfinite_daily, tmp_path):
    """The data test behind the quarantine: a NaN that reached a feature fails the build."""
    _, warehouse = nonfinite_daily
    copy = tmp_path / "wh.duckdb"
    shutil.copy(warehouse.warehouse_path, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "update customer_features set avg_order_value_365d = 'nan'::double "
            "where customer_id = (select min(customer_id) from customer_features)"
        )
    broken = Warehouse.from_paths(REPO_ROOT, warehouse.raw_data_path, copy)
    result = run_dbt(
        ["test", "--select", "customer_features,test_name:all_finite"], broken, capture=True
    )
    assert result.returncode == 1, _output(result)[-3000:]
    assert "all_finite_customer_features" in result.stdout
    assert "FAIL 1" in result.stdout


# --------------------------------------------------------------------------
# REJECT: contract promises broken by the whole export
# --------------------------------------------------------------------------

REFUSED = {
    "all_null_required_column": (
        "Raw table 'orders', column 'discount_amount': rule 'required column has values': "
        "every one of its "
    ),
    "mostly_null_required_column": (
        "Raw table 'sessions', column 'product_views': rule 'required column has values': "
    ),
    "mixed_case_column_name": (
        "Raw table 'order_lines', column 'line_total': rule 'column names in lower case': "
        "found 'Line_Total'; column names are matched exactly, as the contract writes them, "
        "so rename it to 'line_total'"
    ),
    "mixed_case_key_column": (
        "Raw table 'customers', column 'customer_id': rule 'column names in lower case': "
        "found 'Customer_ID'"
    ),
}


@pytest.fixture(scope="module")
def refused_daily(built_warehouse, small_raw_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("refused")
    raw = folder / "raw"
    shutil.copytree(small_raw_data, raw)
    _rewrite(raw / "orders.parquet", "select * replace (null::double as discount_amount) from t")
    _rewrite(
        raw / "sessions.parquet",
        "select * replace (case when session_id % 5 = 0 then product_views end as product_views)"
        " from t",
    )
    _rewrite(raw / "order_lines.parquet", "select * rename (line_total as Line_Total) from t")
    _rewrite(raw / "customers.parquet", "select * rename (customer_id as Customer_ID) from t")
    warehouse = _serving_copy(built_warehouse, raw, folder)
    before = public_table_checksums(warehouse)
    return daily_build(warehouse, capture=True), warehouse, before


@pytest.mark.parametrize("message", [pytest.param(m, id=k) for k, m in REFUSED.items()])
def test_a_broken_contract_promise_refuses_the_export(refused_daily, message):
    result, warehouse, before = refused_daily
    output = _output(result)
    assert result.returncode != 0
    assert "The raw export does not fit the contract; nothing was built" in output
    assert message in output, output[-4000:]
    assert TRACEBACK not in output
    assert public_table_checksums(warehouse) == before


def test_the_mostly_null_sentence_gives_the_share(refused_daily):
    result, _, _ = refused_daily
    assert "are null (80%); the contract says product_views is never null" in _output(result)


# --------------------------------------------------------------------------
# The rules themselves, without dbt
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# High-cardinality categories: capped at training, the cap stored and served
# --------------------------------------------------------------------------
