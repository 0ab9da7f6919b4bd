"""The CDNOW converter on the excerpt shipped as a fixture (customers 1-6000 of the real log)."""

from pathlib import Path

import duckdb
import pytest

from segment_and_predict.cli import main
from segment_and_predict.data.contract import TABLES_BY_NAME
from segment_and_predict.data.datasets.cdnow import convert_cdnow

EXCERPT = Path(__file__).resolve().parents[3] / "data" / "cdnow_excerpt.txt"


def test_excerpt_converts_into_the_two_required_contract_tables(tmp_path):
    result = convert_cdnow(EXCERPT, tmp_path)
    assert (result.customers, result.orders, result.dropped_zero_value_orders) == (6000, 18876, 29)
    assert (result.first_order_date, result.last_order_date) == ("1997-01-01", "1998-06-30")
    assert sorted(p.name for p in tmp_path.glob("*.parquet")) == [
        "customers.parquet",
        "orders.parquet",
    ]
    for table in ("customers", "orders"):
        columns = [
            row[0]
            for row in duckdb.execute(
                f"describe select * from read_parquet('{tmp_path}/{table}.parquet')"
            ).fetchall()
        ]
        assert columns == TABLES_BY_NAME[table].column_names


def test_conversion_keeps_the_contract_rules(tmp_path):
    convert_cdnow(EXCERPT, tmp_path)
    checks = duckdb.execute(
        f"""
        select
            (select count(*) from '{tmp_path}/orders.parquet' where order_total <= 0),
            (select count(*) - count(distinct order_id) from '{tmp_path}/orders.parquet'),
            (select count(*) from '{tmp_path}/orders.parquet' o
                join '{tmp_path}/customers.parquet' c using (customer_id)
                where o.ordered_at < c.signed_up_at),
            (select count(*) from '{tmp_path}/customers.parquet' where age_band is not null)
        """
    ).fetchall()[0]
    assert checks == (0, 0, 0, 0)


def test_cli_reports_a_missing_source_plainly(tmp_path, capsys):
    assert (
        main(["convert-cdnow", "--source", str(tmp_path / "nope.txt"), "--out", str(tmp_path)]) == 2
    )
    assert "CDNOW file not found" in capsys.readouterr().err


@pytest.mark.parametrize("line", ["customer_id date number_of_cds dollar_value", "garbage"])
def test_header_and_malformed_lines_are_skipped(tmp_path, line):
    source = tmp_path / "cdnow.txt"
    source.write_text(f"{line}\n 00001 19970101  1   11.77\n")
    result = convert_cdnow(source, tmp_path / "out")
    assert (result.customers, result.orders) == (1, 1)
