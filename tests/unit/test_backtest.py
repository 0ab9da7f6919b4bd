"""The walk-forward backtest (segment-and-predict backtest, docs/backtest.md)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from dbt_helpers import REPO_ROOT

from segment_and_predict import cli
from segment_and_predict.backtest import (
    BACKTEST_COLUMNS,
    BacktestError,
    backtest_dates,
    parse_every,
    scratch_warehouse,
)
from segment_and_predict.dbt.jobs import Warehouse

DOC = REPO_ROOT / "docs" / "backtest.md"
# Dates 30 days apart; the last window (2026-09-29 + 30 days) closes inside
# the small data, which ends on 2026-10-31. (The CLI run in docs/backtest.md
# uses four; three keep the test's builds few.)
DATES = ["2026-07-31", "2026-08-30", "2026-09-29"]


def test_every_accepts_days_and_refuses_anything_else():
    assert parse_every("30d") == 30
    assert parse_every("7") == 7
    for bad in ("0d", "1w", "-3d", "thirty"):
        with pytest.raises(BacktestError, match="--every must be a number of days"):
            parse_every(bad)


def test_dates_run_from_the_first_to_the_last_inclusive():
    start, end = dt.date(2026, 7, 1), dt.date(2026, 9, 29)
    assert backtest_dates(start, end, 30) == ["2026-07-01", *DATES]
    with pytest.raises(BacktestError, match="before --from"):
        backtest_dates(end, start, 30)


def test_the_scratch_warehouse_sits_beside_the_main_one_and_is_not_it(tmp_path):
    main = Warehouse.from_paths(REPO_ROOT, tmp_path / "raw", tmp_path / "shop.duckdb")
    scratch = scratch_warehouse(main).warehouse_path
    assert scratch == tmp_path / "shop_backtest.duckdb"


def test_the_cli_refuses_bad_arguments_with_one_sentence(capsys):
    code = cli.main(["backtest", "--from", "2026-09-01", "--to", "2026-07-01", "--every", "30d"])
    assert code == 2
    err = capsys.readouterr().err
    assert "error: --to (2026-07-01) is before --from (2026-09-01)" in err
    assert "Traceback" not in err


def test_the_doc_lists_every_column_of_backtest_results():
    documented = set(re.findall(r"^\| `([a-z_0-9]+)` \|", DOC.read_text(), flags=re.M))
    assert documented == {name for name, _, _ in BACKTEST_COLUMNS}
