"""The walk-forward backtest (segment-and-predict backtest, docs/backtest.md)."""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import numpy as np
import pytest
from conftest import REPO_ROOT, public_table_checksums, read_table

from segment_and_predict import cli
from segment_and_predict.backtest import (
    BACKTEST_COLUMNS,
    BacktestError,
    backtest_dates,
    parse_every,
    run_backtest,
    scratch_warehouse,
)
from segment_and_predict.jobs import Warehouse

DOC = REPO_ROOT / "docs" / "backtest.md"
# Dates 30 days apart; the last window (2026-09-29 + 30 days) closes inside
# the small data, which ends on 2026-10-31. (The CLI run in docs/backtest.md
# uses four; three keep the test's builds few.)
DATES = ["2026-07-31", "2026-08-30", "2026-09-29"]
METHODS = {"lightgbm", "logistic_regression", "recency_frequency_rule", "bgnbd"}


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


@pytest.fixture(scope="module")
def main_warehouse(small_raw_data, tmp_path_factory):
    """A main warehouse with a public table the backtest must leave alone."""
    path = tmp_path_factory.mktemp("backtest") / "shop.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table propensity_scores as select 'c1' as customer_id, 0.5 as p")
    return Warehouse.from_paths(REPO_ROOT, small_raw_data, path)


@pytest.fixture(scope="module")
def backtest(main_warehouse):
    before = public_table_checksums(main_warehouse)
    results = run_backtest(main_warehouse, DATES, log=lambda line: None)
    return results, before


def test_backtest_never_touches_the_main_warehouse(backtest, main_warehouse):
    _, before = backtest
    assert before and public_table_checksums(main_warehouse) == before


def test_one_row_per_date_and_method_with_realised_metrics(backtest):
    results, _ = backtest
    assert len(results) == len(DATES) * len(METHODS)
    assert set(results["method"]) == METHODS
    assert sorted({d.date().isoformat() for d in results["as_of_date"]}) == DATES
    assert results["is_label_window_closed"].all()
    for column in ("roc_auc", "pr_auc", "f1", "precision", "recall", "base_rate"):
        assert results[column].between(0, 1).all(), column
    model = results[results["method"] == "lightgbm"]
    assert (model["roc_auc"] > 0.75).all()
    assert (model["top_decile_lift"] > 1.5).all()
    # each date trained its own model, tested on the snapshot a label window before it
    assert model["model_id"].nunique() == len(DATES)
    gap = (model["as_of_date"] - model["test_as_of_date"]).dt.days
    assert (gap == 30).all()


def test_table_types_follow_the_contract(backtest, main_warehouse):
    scratch = scratch_warehouse(main_warehouse)
    types = read_table(
        scratch,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'main' and table_name = 'backtest_results' "
        "order by ordinal_position",
    )
    assert list(zip(types["column_name"], types["data_type"], strict=True)) == [
        (name, kind) for name, kind, _ in BACKTEST_COLUMNS
    ]


def test_realised_metrics_agree_with_the_monitoring_table(backtest, main_warehouse):
    """The backtest's labels (customer_labels, scikit-learn metrics) and the monitoring
    table's (its own SQL join and rank formula) agree on every date a later build evaluated:
    the walk-forward build as of D + 30 days scores D's realised performance."""
    results, _ = backtest
    scratch = scratch_warehouse(main_warehouse)
    realised = read_table(
        scratch,
        "select as_of_date, roc_auc, pr_auc, buyers, customers "
        "from monitoring_realised_performance order by as_of_date",
    )
    assert len(realised) == len(DATES) - 1
    model = results[results["method"] == "lightgbm"].set_index("as_of_date")
    for _, row in realised.iterrows():
        mine = model.loc[row["as_of_date"]]
        assert mine["passed_quality_gate"]
        assert (mine["buyers"], mine["customers"]) == (row["buyers"], row["customers"])
        np.testing.assert_allclose(
            [mine["roc_auc"], mine["pr_auc"]], [row["roc_auc"], row["pr_auc"]], rtol=1e-9
        )
