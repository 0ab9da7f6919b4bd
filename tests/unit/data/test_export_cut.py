"""The export as it stood on the morning of a date (data/export_cut.py): the as-of proof
and the benchmark's run of consecutive days both build on it."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from segment_and_predict.data.export_cut import cut_export, last_event_date


def _write(con, path, sql):
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"copy ({sql}) to '{path}' (format parquet)")


@pytest.fixture
def export(tmp_path):
    raw = tmp_path / "raw"
    with duckdb.connect() as con:
        # orders as a folder of part files, as real exports come
        _write(
            con,
            raw / "orders" / "part-0.parquet",
            "select 1 as order_id, 10 as customer_id, "
            "timestamp '2024-03-01 23:59:59' as ordered_at",
        )
        _write(
            con,
            raw / "orders" / "part-1.parquet",
            "select 2 as order_id, 10 as customer_id, "
            "timestamp '2024-03-02 00:00:00' as ordered_at",
        )
        _write(
            con,
            raw / "order_lines.parquet",
            "select * from (values (1, 'a'), (2, 'b'), (2, 'c')) t(order_id, sku)",
        )
        _write(
            con,
            raw / "marketing_messages.parquet",
            """select * from (values
                (1, timestamp '2024-02-28 09:00', timestamp '2024-03-01 08:00', null),
                (2, timestamp '2024-03-01 09:00', timestamp '2024-03-02 08:00',
                    timestamp '2024-03-02 08:05'),
                (3, timestamp '2024-03-02 09:00', null, null)
            ) t(message_id, sent_at, opened_at, clicked_at)""",
        )
        _write(
            con,
            raw / "returns.parquet",
            "select 1 as return_id, timestamp '2024-03-01 10:00' as returned_at where false",
        )
    return raw


def test_the_cut_keeps_only_what_had_arrived_before_the_date(export, tmp_path):
    counts = cut_export(export, tmp_path / "cut", "2024-03-02")
    assert counts == {
        "orders": (2, 1),
        "order_lines": (3, 1),
        "marketing_messages": (3, 2),
        "returns": (0, 0),
    }
    with duckdb.connect() as con:
        cut = tmp_path / "cut"
        assert con.execute(f"select order_id from '{cut}/orders.parquet'").fetchall() == [(1,)]
        # a line arrives with its order
        assert con.execute(f"select sku from '{cut}/order_lines.parquet'").fetchall() == [("a",)]
        # an open or a click at or after the cut had not happened yet that morning
        assert con.execute(
            f"select message_id, opened_at, clicked_at from '{cut}/marketing_messages.parquet' "
            "order by 1"
        ).fetchall() == [
            (1, dt.datetime(2024, 3, 1, 8), None),
            (2, None, None),
        ]
    # an absent table stays absent
    assert not (tmp_path / "cut" / "sessions.parquet").exists()


def test_the_last_event_date_reads_every_dated_table_and_part_file(export):
    assert last_event_date(export) == dt.date(2024, 3, 2)


def test_a_malformed_date_is_refused_before_anything_is_written(export, tmp_path):
    with pytest.raises(ValueError):
        cut_export(export, tmp_path / "cut", "2024-3-2")
    assert not (tmp_path / "cut").exists()
