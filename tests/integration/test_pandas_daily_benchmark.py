"""benchmarks/pandas_daily.py, the plain pandas + LightGBM reference of the daily job that
issue 20's speed comparison runs against, still does the same work as the dbt build: on the
small data set its features, probabilities, reasons and segments equal the warehouse's.
A change to a feature, the scoring or the segmenter's serving changes the script too."""

from __future__ import annotations

import importlib.util

import pytest
from dbt_helpers import REPO_ROOT

pytestmark = pytest.mark.integration


def _pandas_daily():
    path = REPO_ROOT / "benchmarks" / "pandas_daily.py"
    spec = importlib.util.spec_from_file_location("pandas_daily", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pandas_daily_equals_the_warehouse(small_raw_data, built_warehouse, tmp_path, capsys):
    warehouse = str(built_warehouse.warehouse_path)
    code = _pandas_daily().main(
        [
            "--raw-data-path", str(small_raw_data), "--warehouse", warehouse,
            "--out", str(tmp_path), "--check-against", warehouse,
        ]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert printed.count("0 customers in one only; 0 rows differ") == 3, printed
    assert "max abs difference of the probabilities: 0;" in printed
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "customer_features.parquet",
        "customer_segments.parquet",
        "propensity_scores.parquet",
    ]
