"""The catalogue of bad inputs (docs/bad_inputs.md): one test per row.

Two policies. REJECT: the build stops before any feature, model or score
changes, with a message naming the table, the column and the rule, and no
Python traceback. QUARANTINE: the rows are left out by staging and counted in
the table data_quality_issues; the build goes on.

To keep this quick, the reject cases found by the first step of every build
share one dbt run (the check reports every problem at once), and every
row-level defect is injected into one copy of the small data that is built
once (with two optional tables absent/empty, a customer with no activity and a
customer with category values the model never saw).
"""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from dbt_helpers import REPO_ROOT, assert_dbt_ok, public_table_checksums, read_table
from dbt_helpers import rewrite_parquet as _rewrite

from segment_and_predict import cli
from segment_and_predict.dbt.jobs import (
    Warehouse,
    daily_build,
    failed_copy_path,
    full_build,
    run_dbt,
)
from segment_and_predict.ml.propensity.data import MIN_LABELLED_SNAPSHOTS

TRACEBACK = "Traceback (most recent call last)"


def _output(result) -> str:
    return result.stdout + result.stderr


def _public_tables_created(result) -> list[str]:
    """Tables/views in the public schema (main) that the run created, by dbt's log lines."""
    return [
        line
        for line in result.stdout.splitlines()
        if "OK created" in line and " main." in line and "main.data_quality_issues" not in line
    ]


def _assert_rejected(result, *messages: str) -> None:
    output = _output(result)
    assert result.returncode != 0, output[-3000:]
    for message in messages:
        assert message in output, f"{message!r} not in:\n{output[-4000:]}"
    assert TRACEBACK not in output
    assert _public_tables_created(result) == []


# --------------------------------------------------------------------------
# REJECT at the first step of the build: the raw files do not fit the contract
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def structurally_broken_build(small_raw_data, tmp_path_factory):
    """One raw copy with a different structural problem in each of five tables."""
    raw = tmp_path_factory.mktemp("broken") / "raw"
    shutil.copytree(small_raw_data, raw)
    _rewrite(raw / "customers.parquet", "select * from t where false")
    _rewrite(raw / "orders.parquet", "select * exclude (order_total) from t")
    _rewrite(
        raw / "sessions.parquet",
        "select * replace (cast(started_at as varchar) as started_at) from t",
    )
    _rewrite(
        raw / "marketing_messages.parquet",
        "select * replace (timezone('UTC', sent_at) as sent_at) from t",
    )
    # a truncated upload: the first kilobyte of a real file
    corrupt = raw / "support_tickets.parquet"
    corrupt.write_bytes(corrupt.read_bytes()[:1024])
    warehouse = Warehouse.from_paths(REPO_ROOT, raw, raw.parent / "wh.duckdb")
    return full_build(warehouse, capture=True), warehouse


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(
            "Raw table 'customers': rule 'required table has rows'", id="required_table_empty"
        ),
        pytest.param(
            "Raw table 'orders', column 'order_total': rule 'required column': missing",
            id="required_column_missing",
        ),
        pytest.param(
            "Raw table 'sessions', column 'started_at': rule 'column type': found string, "
            "the contract requires TIMESTAMP",
            id="column_of_wrong_type",
        ),
        pytest.param(
            "Raw table 'marketing_messages', column 'sent_at': rule 'column type': found a "
            "timestamp with time zone",
            id="timestamp_with_time_zone",
        ),
        pytest.param(
            "Raw table 'support_tickets': rule 'readable Parquet': ",
            id="corrupt_parquet_file",
        ),
    ],
)
def test_structural_problem_rejects_before_anything_is_built(structurally_broken_build, message):
    result, warehouse = structurally_broken_build
    _assert_rejected(result, "The raw export does not fit the contract; nothing was built", message)
    # the run was made on a working copy and not kept: no warehouse was created
    assert result.published is False
    assert not warehouse.warehouse_path.exists()


# --------------------------------------------------------------------------
# REJECT: vars that make no sense
# --------------------------------------------------------------------------


def test_malformed_as_of_date_is_rejected(small_raw_data, tmp_path, capsys):
    warehouse = Warehouse.from_paths(REPO_ROOT, small_raw_data, tmp_path / "wh.duckdb")
    result = run_dbt(["build"], warehouse, dbt_vars={"as_of_date": "2026-02-30"}, capture=True)
    _assert_rejected(result, "The var as_of_date is not a real calendar date: '2026-02-30'")
    # the CLI refuses it before dbt starts
    code = cli.main(["daily", "--as-of-date", "26/10/2026", "--raw-data-path", str(small_raw_data)])
    assert code == 2
    assert "as_of_date must be a date written YYYY-MM-DD" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("as_of_date", "message"),
    [
        pytest.param("2030-01-01", "as_of_date (2030-01-01) is after the data", id="after"),
        pytest.param("2020-01-01", "as_of_date (2020-01-01) is before the data", id="before"),
    ],
)
def test_as_of_date_outside_the_data_is_rejected(small_raw_data, tmp_path, as_of_date, message):
    warehouse = Warehouse.from_paths(REPO_ROOT, small_raw_data, tmp_path / "wh.duckdb")
    result = daily_build(warehouse, as_of_date=as_of_date, capture=True)
    _assert_rejected(result, message, "The build stopped before any feature, model or score")


# --------------------------------------------------------------------------
# REJECT: a broken export (too many quarantined rows) stops at the gate
# --------------------------------------------------------------------------


def test_too_many_quarantined_rows_reject_the_export(raw_copy, built_warehouse, tmp_path):
    """Rejected by a dbt test halfway: nothing of the run is kept, in any schema.

    Before the working copy, the run had rebuilt staging and intermediate.*
    tables by the time the data-quality test stopped it (issue 14, finding 9).
    """
    # a tenth of the orders point at customers the export does not have
    _rewrite(
        raw_copy / "orders.parquet",
        "select * replace (case when order_id % 10 = 0 then customer_id + 100000000 "
        "else customer_id end as customer_id) from t",
    )
    copy = tmp_path / "wh.duckdb"
    shutil.copy(built_warehouse.warehouse_path, copy)
    warehouse = Warehouse.from_paths(REPO_ROOT, raw_copy, copy)
    before = public_table_checksums(warehouse, schema=None)
    assert any(name.startswith("intermediate.") for name in before)
    result = daily_build(warehouse, capture=True)
    _assert_rejected(
        result,
        "Raw table 'orders': ",
        "were quarantined (unknown_customer on customer_id: ",
        "Raw table 'order_lines': ",
        "were quarantined (unknown_order on order_id: ",
        "more than the var data_quality_max_quarantined_share = 0.05",
    )
    assert result.published is False
    assert public_table_checksums(warehouse, schema=None) == before
    # what the rejected run found stays readable in the copy kept aside
    kept = Warehouse(warehouse.project_dir, raw_copy, failed_copy_path(warehouse))
    issues = read_table(kept, "select * from data_quality_issues order by table_name")
    # the lines of those orders are left out with them
    assert issues[["table_name", "rule", "column_name"]].values.tolist() == [
        ["order_lines", "unknown_order", "order_id"],
        ["orders", "unknown_customer", "customer_id"],
    ]
    assert issues["quarantined_share"].iloc[1] == pytest.approx(0.1, abs=0.01)


# --------------------------------------------------------------------------
# REJECT: too few labelled snapshots; the serving models keep serving
# --------------------------------------------------------------------------


def test_too_few_labelled_snapshots_stop_training_and_keep_the_serving_model(
    built_warehouse, tmp_path
):
    copy = tmp_path / "serving.duckdb"
    shutil.copy(built_warehouse.warehouse_path, copy)
    warehouse = Warehouse.from_paths(REPO_ROOT, built_warehouse.raw_data_path, copy)
    state = """
        select
            (select count(*) from propensity_models) as propensity_models,
            (select count(*) from segment_models) as segment_models,
            (select count(*) from customer_features) as feature_rows,
            (select sum(propensity) from propensity_scores) as score_sum,
            (select string_agg(distinct model_id) from propensity_scores) as scoring_model
    """
    before = read_table(warehouse, state)
    result = run_dbt(["build"], warehouse, dbt_vars={"training_snapshot_count": 2}, capture=True)
    _assert_rejected(
        result,
        "Too few labelled snapshots to train the propensity model: it needs "
        f"{MIN_LABELLED_SNAPSHOTS} as_of dates",
        "found 2 (",
        "the serving models keep serving",
    )
    pd.testing.assert_frame_equal(read_table(warehouse, state), before)


# --------------------------------------------------------------------------
# QUARANTINE: row-level defects, all in one build
# --------------------------------------------------------------------------

FUTURE = "timestamp '2099-06-01 10:00:00'"

CUSTOMER_DEFECTS = f"""
    with c as (select * replace (cast(customer_id as varchar) as customer_id) from t),
    base as (select * from c where customer_id = (select min(customer_id) from c))
    select * from c
    union all select * from base                                      -- exact copy
    union all select * replace ('dupkey-1' as customer_id, 'north' as region) from base
    union all select * replace ('dupkey-1' as customer_id, 'south' as region) from base
    union all select * replace (null as customer_id) from base
    union all select * replace ('future-1' as customer_id, {FUTURE} as signed_up_at) from base
    -- valid: a customer with no activity at all
    union all select * replace (
        'idle-1' as customer_id, timestamp '2025-01-15 10:00:00' as signed_up_at) from base
    -- valid: signed up after the last training snapshot, with values training never saw
    union all select * replace (
        'newcat-1' as customer_id, 'Atlantis' as region, 'tv_ads' as acquisition_channel,
        timestamp '2026-10-20 09:00:00' as signed_up_at) from base
"""
ORDER_DEFECTS = f"""
    with o as (select * replace (
        cast(order_id as varchar) as order_id, cast(customer_id as varchar) as customer_id) from t),
    base as (select * from o where order_id = (select min(order_id) from o))
    select * from o
    union all select * from base                                      -- exact copy
    union all select * replace ('dupkey-o' as order_id, 10.0 as order_total) from base
    union all select * replace ('dupkey-o' as order_id, 20.0 as order_total) from base
    union all select * replace ('ghost-o1' as order_id, 'ghost-1' as customer_id) from base
    union all select * replace ('ghost-o2' as order_id, 'dupkey-1' as customer_id) from base
    union all select * replace ('nullcust-o' as order_id, null as customer_id) from base
    union all select * replace ('zero-o' as order_id, 0.0 as order_total) from base
    union all select * replace ('negative-o' as order_id, -5.0 as order_total) from base
    union all select * replace ('negdisc-o' as order_id, -1.0 as discount_amount) from base
    union all select * replace (
        'early-o' as order_id, timestamp '2001-01-01 10:00:00' as ordered_at) from base
    union all select * replace ('future-o' as order_id, {FUTURE} as ordered_at) from base
    -- valid: an order of the customer with new category values
    union all select * replace (
        'newcat-o' as order_id, 'newcat-1' as customer_id,
        timestamp '2026-10-25 12:00:00' as ordered_at) from base
"""
SESSION_DEFECTS = f"""
    with base as (select * from t where session_id = (select min(session_id) from t))
    select * from t
    union all select * replace (
        session_id + 1000000000 as session_id, 999999999 as customer_id) from base
    union all select * replace (
        session_id + 1000000001 as session_id, {FUTURE} as started_at) from base
"""
ORDER_LINE_DEFECTS = """
    with base as (select * from t where order_id = (select min(order_id) from t) limit 1)
    select * from t
    union all select * replace (999999999 as order_id) from base
    union all select * from base  -- exact copy (two-column key)
"""

PARTS = 3


def _split_into_parts(path, folder, n: int) -> None:
    """Replace the Parquet file ``path`` by ``folder`` of ``n`` part files, in row order."""
    table = pq.read_table(path)
    size = -(-table.num_rows // n)
    folder.mkdir()
    for i in range(n):
        pq.write_table(table.slice(i * size, size), folder / f"part-{i:05d}.parquet")
    path.unlink()


# (table, rule, column) -> rows quarantined
EXPECTED_QUARANTINE = {
    ("customers", "duplicate_row", "customer_id"): 1,
    ("customers", "duplicate_key", "customer_id"): 2,
    ("customers", "missing_value", "customer_id"): 1,
    ("customers", "dated_after_load_date", "signed_up_at"): 1,
    ("orders", "duplicate_row", "order_id"): 1,
    ("orders", "duplicate_key", "order_id"): 2,
    ("orders", "unknown_customer", "customer_id"): 2,
    ("orders", "missing_value", "customer_id"): 1,
    ("orders", "non_positive_amount", "order_total"): 2,
    ("orders", "negative_amount", "discount_amount"): 1,
    ("orders", "dated_before_signup", "ordered_at"): 1,
    ("orders", "dated_after_load_date", "ordered_at"): 1,
    ("sessions", "unknown_customer", "customer_id"): 1,
    ("sessions", "dated_after_load_date", "started_at"): 1,
    ("order_lines", "unknown_order", "order_id"): 1,
    ("order_lines", "duplicate_row", "order_id, line_number"): 1,
}


@pytest.fixture(scope="module")
def defective_build(small_raw_data, tmp_path_factory):
    raw = tmp_path_factory.mktemp("defective") / "raw"
    shutil.copytree(small_raw_data, raw)
    _rewrite(raw / "customers.parquet", CUSTOMER_DEFECTS)
    _rewrite(raw / "orders.parquet", ORDER_DEFECTS)
    _rewrite(raw / "sessions.parquet", SESSION_DEFECTS)
    _rewrite(raw / "order_lines.parquet", ORDER_LINE_DEFECTS)
    # orders and sessions as folders of part files: the quarantine tells rows apart
    # by their file and place in it, and a defect's copy sits in another part than
    # its original (the defects are the last rows)
    for table in ("orders", "sessions"):
        _split_into_parts(raw / f"{table}.parquet", raw / table, PARTS)
    # optional tables: one absent, one empty
    (raw / "returns.parquet").unlink()
    _rewrite(raw / "support_tickets.parquet", "select * from t where false")
    warehouse = Warehouse.from_paths(REPO_ROOT, raw, raw.parent / "wh.duckdb")
    result = full_build(warehouse, capture=True)
    assert_dbt_ok(result)
    return result, warehouse


@pytest.mark.parametrize(
    ("table", "rule", "column"),
    [pytest.param(*key, id=f"{key[0]}-{key[1]}") for key in EXPECTED_QUARANTINE],
)
def test_row_level_defects_are_quarantined_and_counted(defective_build, table, rule, column):
    result, warehouse = defective_build
    issues = read_table(warehouse, "select * from data_quality_issues")
    row = issues.query("table_name == @table and rule == @rule and column_name == @column")
    assert len(row) == 1, issues
    assert row["rows_quarantined"].iloc[0] == EXPECTED_QUARANTINE[(table, rule, column)]
    assert row["example_key"].iloc[0]
    # the build warned, and went on
    assert "Warning in test no_rows_quarantined" in result.stdout


def test_quarantine_counts_nothing_else_and_staging_keeps_the_rest(defective_build, small_raw_data):
    _, warehouse = defective_build
    issues = read_table(warehouse, "select * from data_quality_issues")
    found = {(r.table_name, r.rule, r.column_name): r.rows_quarantined for r in issues.itertuples()}
    assert found == EXPECTED_QUARANTINE
    kept = read_table(
        warehouse,
        """
        select
            (select count(*) from staging.stg_customers) as customers,
            (select count(*) from staging.stg_orders) as orders,
            (select count(*) from staging.stg_customers
             where customer_id in ('dupkey-1', 'future-1')) as quarantined_customers,
            (select count(*) from staging.stg_orders where order_id = (
                select min(order_id) from staging.stg_orders where order_id not like '%-%'))
                as copies_of_the_duplicated_order
        """,
    ).iloc[0]
    with duckdb.connect() as con:
        original = con.execute(
            f"select (select count(*) from '{small_raw_data}/customers.parquet'), "
            f"(select count(*) from '{small_raw_data}/orders.parquet')"
        ).fetchall()[0]
    # the originals, plus the two valid customers and the one valid new order
    assert kept["customers"] == original[0] + 2
    assert kept["orders"] == original[1] + 1
    assert kept["quarantined_customers"] == 0
    assert kept["copies_of_the_duplicated_order"] == 1


def test_every_raw_row_is_staged_or_quarantined_exactly_once(defective_build):
    # The rules are evaluated once per build (raw_quarantined_rows); each staging view
    # is the raw rows minus those, matched by file and row number. Orders and
    # sessions are part files here, so rows of different files share row numbers.
    _, warehouse = defective_build
    raw = warehouse.raw_data_path
    counts = read_table(
        warehouse,
        f"""
        select
            (select count(*) from '{raw}/orders/*.parquet') as raw_orders,
            (select count(*) from staging.stg_orders) as staged_orders,
            (select count(*) from staging.raw_quarantined_rows
             where table_name = 'orders') as quarantined_orders,
            (select count(distinct (file_index, file_row_number)) from staging.raw_quarantined_rows
             where table_name = 'orders') as distinct_quarantined_orders,
            (select min(file_index) from staging.raw_quarantined_rows
             where table_name = 'orders') as first_file_with_quarantined_orders,
            (select max(file_index) from staging.raw_quarantined_rows
             where table_name = 'orders') as last_file_with_quarantined_orders,
            (select count(*) from '{raw}/sessions/*.parquet') as raw_sessions,
            (select count(*) from staging.stg_sessions) as staged_sessions,
            (select count(*) from staging.raw_quarantined_rows
             where table_name = 'sessions') as quarantined_sessions,
            (select count(*) from '{raw}/order_lines.parquet') as raw_lines,
            (select count(*) from staging.stg_order_lines) as staged_lines,
            (select count(*) from staging.raw_quarantined_rows
             where table_name = 'order_lines') as quarantined_lines
        """,
    ).iloc[0]
    for table in ("orders", "sessions", "lines"):
        assert counts[f"raw_{table}"] == counts[f"staged_{table}"] + counts[f"quarantined_{table}"]
    assert counts["distinct_quarantined_orders"] == counts["quarantined_orders"]
    # the defects are the last rows, so in the last part (of exact copies the first
    # in the export is kept): a match on the row number alone would also drop the
    # first parts' rows of those numbers
    assert counts["last_file_with_quarantined_orders"] == PARTS - 1
    assert counts["first_file_with_quarantined_orders"] == PARTS - 1
    # what the staging views keep is what no rule breaks, row for row: every staged
    # order is a raw order that is not quarantined, by its content
    parts = ", ".join(f"'{p}'" for p in sorted((raw / "orders").glob("*.parquet")))
    leftover = read_table(
        warehouse,
        f"""
        select count(*) as n from (
            select
                cast(order_id as varchar) as order_id,
                cast(customer_id as varchar) as customer_id,
                cast(ordered_at as timestamp) as ordered_at
            from read_parquet([{parts}]) as r
            anti join (
                select file_index, file_row_number from staging.raw_quarantined_rows
                where table_name = 'orders'
            ) as q using (file_index, file_row_number)
            except all
            select order_id, customer_id, ordered_at from staging.stg_orders
        )
        """,
    ).iloc[0]
    assert leftover["n"] == 0


def test_data_sources_counts_the_rows_staging_keeps(defective_build):
    # data_sources derives its counts (raw rows less quarantined rows) instead of
    # reading the staging views again: they must be the staging views' counts.
    _, warehouse = defective_build
    sources = read_table(warehouse, "select table_name, row_count from data_sources")
    staged = read_table(
        warehouse,
        " union all ".join(
            f"select '{name}' as table_name, count(*) as row_count from staging.stg_{name}"
            for name in sources["table_name"]
        ),
    )
    assert dict(zip(sources.table_name, sources.row_count, strict=True)) == dict(
        zip(staged.table_name, staged.row_count, strict=True)
    )


def test_events_after_the_load_date_do_not_move_the_scoring_date(defective_build, built_warehouse):
    _, warehouse = defective_build
    query = "select as_of_date from intermediate.int_snapshot_dates where is_scoring_snapshot"
    assert read_table(warehouse, query).equals(read_table(built_warehouse, query))


def test_quarantine_leaves_the_other_customers_features_alone(defective_build, built_warehouse):
    _, warehouse = defective_build
    query = """
        select customer_id, orders_365d, total_spend_365d, days_since_last_order, sessions_30d
        from customer_features
        where as_of_date = (
            select as_of_date from intermediate.int_snapshot_dates where is_scoring_snapshot)
        order by customer_id
    """
    clean = read_table(built_warehouse, query)
    defective = read_table(warehouse, query)
    defective = defective[defective["customer_id"].isin(clean["customer_id"])]
    pd.testing.assert_frame_equal(defective.reset_index(drop=True), clean, check_exact=False)


def test_absent_or_empty_optional_tables_leave_their_features_null(defective_build):
    _, warehouse = defective_build
    nulls = read_table(
        warehouse,
        """
        select
            count(*) as rows,
            count(returns_90d) as returns_known,
            count(refund_rate_365d) as refund_rate_known,
            count(tickets_90d) as tickets_known,
            count(last_csat_score) as csat_known,
            count(orders_365d) as orders_known
        from customer_features
        """,
    ).iloc[0]
    assert nulls["rows"] > 0
    assert nulls[["returns_known", "refund_rate_known", "tickets_known", "csat_known"]].sum() == 0
    assert nulls["orders_known"] == nulls["rows"]


def test_a_customer_with_no_activity_is_scored_and_segmented(defective_build):
    _, warehouse = defective_build
    idle = read_table(
        warehouse,
        """
        select f.orders_365d, f.days_since_last_order, f.total_spend_365d, f.sessions_30d,
               s.propensity, s.propensity_decile, g.segment_id, g.segment_name
        from customer_features f
        join propensity_scores s on s.customer_id = f.customer_id and s.as_of_date = f.as_of_date
        join customer_segments g on g.customer_id = f.customer_id and g.as_of_date = f.as_of_date
        where f.customer_id = 'idle-1' and f.as_of_date = (
            select as_of_date from intermediate.int_snapshot_dates where is_scoring_snapshot)
        """,
    )
    assert len(idle) == 1
    idle = idle.iloc[0]
    # no order: counts are zero, recency and spend are unknown (not zero)
    assert idle["orders_365d"] == 0 and idle["sessions_30d"] == 0
    assert pd.isna(idle["days_since_last_order"])
    assert 0.0 < idle["propensity"] < 1.0
    assert pd.notna(idle["segment_id"]) and idle["segment_name"]


def test_unseen_category_values_are_scored_and_counted(defective_build):
    result, warehouse = defective_build
    scored = read_table(
        warehouse,
        """
        select s.propensity, f.region, f.acquisition_channel
        from propensity_scores s join customer_features f using (customer_id, as_of_date)
        where customer_id = 'newcat-1'
        """,
    )
    assert len(scored) == 1 and 0.0 < scored["propensity"].iloc[0] < 1.0
    assert scored["region"].iloc[0] == "atlantis"  # staging lower-cases
    unseen = read_table(
        warehouse,
        "select feature, category_value, customers from unseen_category_values order by feature",
    )
    assert unseen.values.tolist() == [
        ["acquisition_channel", "tv_ads", 1],
        ["region", "atlantis", 1],
    ]
    assert "Warning in test no_unseen_category_values" in result.stdout
