"""Identical inputs train identical models, whatever DuckDB's thread count.

DuckDB aggregates in parallel and adds partial sums in the order its threads
finish. Sums of doubles then differed in their last bits from one build to the
next, and two builds of the same export trained different models (34 vs 37
trees, beats_baselines flipped) under an equal training_fingerprint. The
feature SQL now sums money and durations as exact decimals (macro
exact_decimal) and breaks arg_max ties by value, so features, and with them
the registries, are a function of the data alone.

Three builds of the same raw data into fresh warehouses: the session's build
(default threads, 2), a second one at 2 DuckDB threads and one at 1. Every
feature value and every registry column apart from ids and training times
must be equal, bit for bit.
"""

from __future__ import annotations

import json

import duckdb
import pytest
from dbt_helpers import REPO_ROOT, assert_dbt_ok

from segment_and_predict.dbt.jobs import Warehouse, full_build

# Wall-clock fields; everything else in a registry row must be equal. A
# segmenter's model JSON repeats its id and training time.
ID_AND_TIME_COLUMNS = {
    "propensity_models": ("model_id", "trained_at"),
    "segment_models": ("segment_model_id", "trained_at"),
}
ID_AND_TIME_KEYS = {"segment_model_id", "trained_at"}


def _rows(path, table: str) -> list[dict]:
    with duckdb.connect(str(path), read_only=True) as con:
        frame = con.execute(f"select * from {table} order by trained_at").df()
    frame = frame.drop(columns=list(ID_AND_TIME_COLUMNS[table]))
    rows = frame.to_dict("records")
    if table == "segment_models":
        for row in rows:
            model = json.loads(row["model_json"])
            row["model_json"] = {k: v for k, v in model.items() if k not in ID_AND_TIME_KEYS}
    return rows


def _feature_rows_that_differ(path_a, path_b) -> int:
    with duckdb.connect() as con:
        con.execute(f"attach '{path_a}' as a (read_only)")
        con.execute(f"attach '{path_b}' as b (read_only)")
        return con.execute(
            "select count(*) from ("
            "select * from a.customer_features except all select * from b.customer_features)"
        ).fetchall()[0][0]


def _equal(a, b) -> bool:
    # NaN (a missing metric) is equal to itself here; every other float bit for bit.
    return a == b or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)


@pytest.fixture(scope="module", params=["2", "1"], ids=["2 duckdb threads", "1 duckdb thread"])
def rebuilt_warehouse(request, small_raw_data, tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("SAP_DUCKDB_THREADS", request.param)
    try:
        warehouse = Warehouse.from_paths(
            REPO_ROOT,
            small_raw_data,
            tmp_path_factory.mktemp("rebuild") / f"threads_{request.param}.duckdb",
        )
        assert_dbt_ok(full_build(warehouse, capture=True))
    finally:
        monkeypatch.undo()
    return warehouse


def test_features_are_identical(built_warehouse, rebuilt_warehouse):
    assert (
        _feature_rows_that_differ(built_warehouse.warehouse_path, rebuilt_warehouse.warehouse_path)
        == 0
    )


@pytest.mark.parametrize("table", ["propensity_models", "segment_models"])
def test_registry_rows_are_identical_apart_from_ids_and_times(
    built_warehouse, rebuilt_warehouse, table
):
    first = _rows(built_warehouse.warehouse_path, table)
    second = _rows(rebuilt_warehouse.warehouse_path, table)
    assert len(first) == len(second) == 1
    differing = sorted(c for c in first[0] if not _equal(first[0][c], second[0][c]))
    assert differing == []
