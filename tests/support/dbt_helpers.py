"""Helpers the tests share: the repository root, the small data size, and reading
and checking a built DuckDB warehouse (tests/support is on pytest's pythonpath)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from segment_and_predict.data.raw_files import duckdb_literal_path
from segment_and_predict.dbt.history import archived_dates, default_history_dir
from segment_and_predict.dbt.jobs import Warehouse

REPO_ROOT = Path(__file__).resolve().parents[2]

# Test builds run with the threads users get (the profile's default, 2 DuckDB
# threads): the features are order-independent sums (macro exact_decimal), so
# builds are a function of the data alone (test_reproducible_training.py).
SMALL_CUSTOMERS = 4_000


def read_table(warehouse: Warehouse, query: str):
    """Run a query on a built warehouse (read-only) and return a DataFrame."""
    with duckdb.connect(str(warehouse.warehouse_path), read_only=True) as con:
        return con.execute(query).df()


def archived_feature_dates(warehouse: Warehouse) -> list[str]:
    """The as_of dates of customer_features that a daily job moved to Parquet (YYYY-MM-DD)."""
    return archived_dates(default_history_dir(warehouse.warehouse_path))


def every_feature_date_sql(warehouse: Warehouse, columns: str = "as_of_date, customer_id") -> str:
    """SQL of customer_features' whole history: the table, and the dates moved to Parquet.

    The daily job keeps feature_history_days of dates in the table and writes older
    ones beside the warehouse (macros/feature_history.sql); a date in both is the table's.
    """
    table = f"select {columns} from customer_features"
    dates = archived_feature_dates(warehouse)
    if not dates:
        return table
    archive = default_history_dir(warehouse.warehouse_path) / "customer_features"
    paths = [duckdb_literal_path(str(archive / f"as_of_date={d}" / "rows.parquet")) for d in dates]
    files = ", ".join("'" + path.replace("'", "''") + "'" for path in paths)
    return (
        f"{table}\nunion all\n"
        f"select {columns} from read_parquet([{files}], hive_partitioning = false) "
        "where as_of_date not in (select as_of_date from customer_features)"
    )


def public_table_checksums(
    warehouse: Warehouse, schema: str | None = "main"
) -> dict[str, tuple[int, int]]:
    """Row count and an order-independent content hash of every public table and view.

    The public schema is ``main`` (what BI tools and campaign tools read); with
    ``schema=None``, every table of every schema (staging, intermediate, ...).
    Two calls give equal dicts exactly when no such table changed, so a hostile
    case can assert that a rejected run left them as they were. A missing
    warehouse file gives an empty dict.
    """
    if not warehouse.warehouse_path.exists():
        return {}
    where = "" if schema is None else f"where table_schema = '{schema}'"
    with duckdb.connect(str(warehouse.warehouse_path), read_only=True) as con:
        names = con.execute(
            f"select table_schema, table_name from information_schema.tables {where} "
            "order by table_schema, table_name"
        ).fetchall()
        return {
            f"{schema_name}.{name}": tuple(
                con.execute(
                    f'select count(*), coalesce(sum(hash(t)), 0) from "{schema_name}"."{name}" as t'
                ).fetchall()[0]
            )
            for schema_name, name in names
        }


def rewrite_parquet(path: Path, sql: str) -> None:
    """Replace the Parquet file ``path`` by ``sql`` over its content (the view ``t``)."""
    import pyarrow.parquet as pq

    con = duckdb.connect()
    con.execute(f"create view t as select * from read_parquet('{path}')")
    data = con.sql(sql).to_arrow_table()
    con.close()
    pq.write_table(data, path)


def assert_dbt_ok(result) -> None:
    assert result.returncode == 0, f"dbt failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"


def copy_warehouse(warehouse: Warehouse, target_dir) -> Warehouse:
    target = target_dir / "copy.duckdb"
    shutil.copy(warehouse.warehouse_path, target)
    return Warehouse(warehouse.project_dir, warehouse.raw_data_path, target)


def raw_event_times() -> dict[str, str | None]:
    """Each raw table's event time, ``meta.event_time`` of its dbt source: the timestamp
    that says when a row arrived in the export (None for order_lines, which arrive with
    their order), as the contract reads it (``contract.Table.event_time``)."""
    from segment_and_predict.data.contract import TABLES

    return {t.name: t.event_time for t in TABLES}
