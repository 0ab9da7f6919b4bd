"""Shared fixtures: small generated raw data and dbt builds into temporary warehouses.

Generating and building once per session keeps the integration tests quick;
tests that change data make their own copies.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from segment_and_predict.generator import generate
from segment_and_predict.jobs import Warehouse, full_build

REPO_ROOT = Path(__file__).resolve().parents[2]

# Test builds run with the threads users get (the profile's default, 2 DuckDB
# threads): the features are order-independent sums (macro exact_decimal), so
# builds are a function of the data alone (test_reproducible_training.py).
SMALL_CUSTOMERS = 4_000

# With pytest-xdist (scripts/test.sh runs the integration layer on two workers),
# each worker's dbt runs write their own target/ and logs/, as two jobs on two
# warehouses must: run_results.json and the partial-parse file are per run.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER:
    os.environ.setdefault("DBT_TARGET_PATH", str(REPO_ROOT / "target" / f"pytest-{_WORKER}"))
    os.environ.setdefault("DBT_LOG_PATH", str(REPO_ROOT / "logs" / f"pytest-{_WORKER}"))


# Tests that use these fixtures build with dbt: they are marked "integration",
# so `scripts/test.sh --fast` (pytest -m "not integration") leaves them out.
INTEGRATION_FIXTURES = frozenset({"small_raw_data", "built_warehouse", "raw_copy"})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True, scope="session")
def _unit_run_builds_nothing(request):
    """In the unit-only run, whatever reaches dbt fails at once with a sentence.

    Without this, a dbt-building test (or module fixture) that is not marked
    would slip into the fast run and make it slow. Session-scoped, so it is in
    place before any module fixture builds.
    """
    if "not integration" not in (request.config.option.markexpr or ""):
        yield
        return
    import segment_and_predict.jobs as jobs

    def refuse(*args, **kwargs):
        raise AssertionError(
            "A test of the unit-only run reached dbt: mark it @pytest.mark.integration "
            "(or its module with pytestmark), or use one of conftest.INTEGRATION_FIXTURES."
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jobs, "run_dbt", refuse)
        yield


def read_table(warehouse: Warehouse, query: str):
    """Run a query on a built warehouse (read-only) and return a DataFrame."""
    with duckdb.connect(str(warehouse.warehouse_path), read_only=True) as con:
        return con.execute(query).df()


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


@pytest.fixture(scope="session")
def small_raw_data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("raw_small")
    generate(customers=SMALL_CUSTOMERS, out_dir=out, seed=7)
    return out


@pytest.fixture(scope="session")
def built_warehouse(small_raw_data, tmp_path_factory) -> Warehouse:
    """The full build (training included) on the small data set."""
    warehouse = Warehouse.from_paths(
        REPO_ROOT, small_raw_data, tmp_path_factory.mktemp("wh") / "full.duckdb"
    )
    assert_dbt_ok(full_build(warehouse, capture=True))
    return warehouse


@pytest.fixture
def raw_copy(small_raw_data, tmp_path) -> Path:
    """A private copy of the small raw data that a test may change."""
    target = tmp_path / "raw"
    shutil.copytree(small_raw_data, target)
    return target
