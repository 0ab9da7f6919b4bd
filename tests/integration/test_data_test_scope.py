"""The data tests of a model rebuilt by whole as_of dates (customer_features,
propensity_scores, customer_segments) read the rows of the dates the run built
(macros/test_scope.sql), so the daily job's tests cost what the day wrote, not the
table's history: an earlier day's rows, tested when they were written and untouched
since, are not read again; a bad value on a date this run built still fails."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from dbt_helpers import REPO_ROOT

from segment_and_predict.dbt.jobs import Warehouse, run_dbt

pytestmark = pytest.mark.integration

SELECT = ["test", "--select", "customer_features,test_name:all_finite"]


def _broken_copy(built_warehouse: Warehouse, tmp_path, as_of_date_sql: str) -> Warehouse:
    copy = tmp_path / "wh.duckdb"
    shutil.copy(built_warehouse.warehouse_path, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "insert into customer_features select * replace ("
            f"{as_of_date_sql} as as_of_date, 'nan'::double as avg_order_value_365d) "
            "from customer_features order by as_of_date, customer_id limit 1"
        )
    return Warehouse.from_paths(REPO_ROOT, built_warehouse.raw_data_path, copy)


def test_an_earlier_days_rows_are_not_tested_again(built_warehouse, tmp_path):
    # a date no run of this warehouse built (not in int_snapshot_dates)
    broken = _broken_copy(built_warehouse, tmp_path, "date '2001-01-01'")
    result = run_dbt(SELECT, broken, capture=True)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "PASS all_finite_customer_features" in result.stdout


def test_a_bad_value_on_a_date_the_run_built_fails(built_warehouse, tmp_path):
    broken = _broken_copy(
        built_warehouse, tmp_path, "(select max(as_of_date) from intermediate.int_snapshot_dates)"
    )
    result = run_dbt(SELECT, broken, capture=True)
    assert result.returncode == 1, (result.stdout + result.stderr)[-3000:]
    assert "all_finite_customer_features" in result.stdout
    assert "FAIL 1" in result.stdout
