import pytest

from segment_and_predict.dbt.jobs import Warehouse, parse_as_of_date


@pytest.mark.parametrize("value", ["2026-11-01", "2024-02-29", "default"])
def test_valid_as_of_dates_pass(value):
    assert parse_as_of_date(value) == value


@pytest.mark.parametrize(
    "value", ["2026-02-30", "2025-02-29", "yesterday", "2026-1-1", "", "1'; drop"]
)
def test_invalid_as_of_dates_are_refused_with_a_plain_message(value):
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_as_of_date(value)


def test_relative_paths_resolve_against_the_project(tmp_path):
    warehouse = Warehouse.from_paths(tmp_path, "data/raw", "warehouse/x.duckdb")
    assert warehouse.raw_data_path == tmp_path / "data" / "raw"
    assert warehouse.warehouse_path == tmp_path / "warehouse" / "x.duckdb"
