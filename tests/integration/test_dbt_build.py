"""Integration: the full dbt build on small generated data, asserting the public tables."""

from __future__ import annotations

import shutil

import duckdb
from dbt_helpers import SMALL_CUSTOMERS, assert_dbt_ok, read_table

from segment_and_predict.dbt.jobs import Warehouse, daily_build


def test_customer_features_holds_scoring_and_training_snapshots(built_warehouse):
    snapshots = read_table(
        built_warehouse,
        """
        select
            d.as_of_date, d.is_scoring_snapshot, d.is_training_snapshot, d.is_label_observed,
            count(f.customer_id) as customers,
            count(l.purchased_next_30d) as labelled,
            avg(l.purchased_next_30d::int) as base_rate
        from intermediate.int_snapshot_dates d
        left join customer_features f using (as_of_date)
        left join features.customer_labels l using (customer_id, as_of_date)
        group by all order by d.as_of_date
        """,
    )
    assert snapshots["is_scoring_snapshot"].sum() == 1
    assert snapshots["is_training_snapshot"].sum() == 6
    scoring = snapshots[snapshots["is_scoring_snapshot"]].iloc[0]
    # everyone who signed up before the scoring date, and no label yet
    assert scoring["customers"] == SMALL_CUSTOMERS
    assert scoring["labelled"] == 0
    training = snapshots[snapshots["is_training_snapshot"]]
    # labels exactly where the window is observed: every training row
    assert (training["labelled"] == training["customers"]).all()
    assert training["base_rate"].between(0.15, 0.45).all()
    # training snapshots are 30 days apart, the latest 30 days before scoring
    gaps = training["as_of_date"].diff().dropna().dt.days
    assert (gaps == 30).all()
    assert (scoring["as_of_date"] - training["as_of_date"].max()).days == 30


def test_missing_data_stays_null_where_unknown(built_warehouse):
    rates = read_table(
        built_warehouse,
        """
        select
            avg((email_open_rate_90d is null)::int)
                filter (where not is_email_subscribed) as open_rate_null_when_unsubscribed,
            avg((age_band is null)::int) as age_band_null,
            avg((days_since_last_order is null)::int) filter (where orders_365d = 0)
                as recency_null_without_orders,
            min(orders_30d) as min_orders_30d
        from customer_features
        """,
    ).iloc[0]
    assert rates["open_rate_null_when_unsubscribed"] == 1.0
    assert 0.02 < rates["age_band_null"] < 0.12
    assert rates["recency_null_without_orders"] == 1.0
    assert rates["min_orders_30d"] == 0


def test_docs_generate_describes_every_public_column_and_reaches_the_exposures(built_warehouse):
    import json

    from dbt_helpers import assert_dbt_ok

    from segment_and_predict.dbt.jobs import dbt_target_dir, run_dbt

    assert_dbt_ok(run_dbt(["docs", "generate"], built_warehouse, capture=True))
    target = dbt_target_dir(built_warehouse.project_dir)
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    public = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["schema"] == "main"
    }
    assert {
        "customer_features",
        "propensity_scores",
        "customer_segments",
        "segment_profiles",
        "campaign_targets",
        "propensity_models",
        "segment_models",
    } <= {n["name"] for n in public.values()}
    for uid, node in public.items():
        assert node["description"], node["name"]
        for column in catalog["nodes"][uid]["columns"]:
            assert node["columns"].get(column, {}).get("description"), (node["name"], column)
    # lineage runs from the raw sources to the exposures
    parents = manifest["parent_map"]

    def ancestors(uid, seen=None):
        seen = set() if seen is None else seen
        for parent in parents.get(uid, []):
            if parent not in seen:
                seen.add(parent)
                ancestors(parent, seen)
        return seen

    for exposure in manifest["exposures"]:
        assert any(a.startswith("source.segment_and_predict.raw.") for a in ancestors(exposure))


def test_a_missing_required_table_or_folder_stops_the_build_plainly(small_raw_data, tmp_path):
    import shutil

    from dbt_helpers import REPO_ROOT

    from segment_and_predict.dbt.jobs import Warehouse, run_dbt

    only_customers = tmp_path / "raw"
    only_customers.mkdir()
    shutil.copy(small_raw_data / "customers.parquet", only_customers)
    cases = {
        only_customers: "Raw table 'orders' is required but",
        tmp_path / "no_such_folder": "No raw data: the folder",
    }
    for raw, message in cases.items():
        warehouse = Warehouse.from_paths(REPO_ROOT, raw, tmp_path / f"{raw.name}.duckdb")
        result = run_dbt(["build"], warehouse, capture=True)
        assert result.returncode != 0
        assert message in result.stdout
        assert "Traceback" not in result.stdout + result.stderr
        # stopped before any model: nothing public was created
        assert "OK created" not in result.stdout


def test_an_existing_warehouse_follows_the_feature_contract_without_a_full_refresh(
    built_warehouse, tmp_path
):
    """A warehouse built by an older version (here: customer_features with the label
    column it used to hold, and without a feature column that is new) runs the next
    daily job as is: the undeclared column is dropped, the new one appended."""
    copy = tmp_path / "older.duckdb"
    shutil.copy(built_warehouse.warehouse_path, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("alter table customer_features add column purchased_next_30d boolean")
        con.execute("alter table customer_features drop column orders_30d")
    warehouse = Warehouse.from_paths(
        built_warehouse.project_dir, built_warehouse.raw_data_path, copy
    )
    result = daily_build(warehouse, capture=True)
    assert_dbt_ok(result)
    assert "Dropping column purchased_next_30d" in result.stdout
    columns = read_table(warehouse, "select * from customer_features limit 0").columns
    expected = read_table(built_warehouse, "select * from customer_features limit 0").columns
    assert sorted(columns) == sorted(expected)
    today = read_table(
        warehouse,
        "select count(orders_30d) as n from customer_features "
        "where as_of_date = (select as_of_date from intermediate.int_scoring_date)",
    )["n"].iloc[0]
    assert today == SMALL_CUSTOMERS
