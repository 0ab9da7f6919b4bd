"""Shared fixtures: small generated raw data and dbt builds into temporary warehouses.

Layout: tests/unit/<concern> mirrors segment_and_predict/<module> and never builds
with dbt; tests/integration holds every test that does (its conftest marks them all
``integration``); tests/support holds the helpers both import (on pytest's
pythonpath). Generating and building once per session keeps the integration tests
quick; tests that change data make their own copies.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from dbt_helpers import REPO_ROOT, SMALL_CUSTOMERS, assert_dbt_ok

from segment_and_predict.data.generator import generate
from segment_and_predict.dbt.jobs import Warehouse, full_build

# With pytest-xdist (scripts/test.sh runs the integration layer on two workers),
# each worker's dbt runs write their own target/ and logs/, as two jobs on two
# warehouses must: run_results.json and the partial-parse file are per run.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER:
    os.environ.setdefault("DBT_TARGET_PATH", str(REPO_ROOT / "target" / f"pytest-{_WORKER}"))
    os.environ.setdefault("DBT_LOG_PATH", str(REPO_ROOT / "logs" / f"pytest-{_WORKER}"))


# Tests that use these fixtures build with dbt: they belong in tests/integration,
# whose conftest marks every test "integration", so `scripts/test.sh --fast`
# (pytest -m "not integration") leaves them out.
INTEGRATION_FIXTURES = frozenset({"small_raw_data", "built_warehouse", "raw_copy"})
INTEGRATION_DIR = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(config, items):
    misplaced = []
    for item in items:
        if INTEGRATION_DIR in Path(item.path).parents:
            continue  # marked integration by tests/integration/conftest.py
        if INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker(
            "integration"
        ):
            misplaced.append(item.nodeid)
    if misplaced:
        raise pytest.UsageError(
            "These tests build with dbt (an integration fixture or marker) but are not under "
            "tests/integration: move them there.\n  " + "\n  ".join(misplaced)
        )


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
    import segment_and_predict.dbt.jobs as jobs

    def refuse(*args, **kwargs):
        raise AssertionError(
            "A test of the unit-only run reached dbt: move it to tests/integration "
            "(every test there is marked integration)."
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jobs, "run_dbt", refuse)
        yield


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
