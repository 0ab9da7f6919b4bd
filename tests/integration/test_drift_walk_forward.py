"""Drift that does not cry wolf: the daily job walked forward over an export that grows.

The export is cut at a date (every event strictly before it, as a retailer's
export on that morning); the full build trains on the first cut, then the daily
job runs on later cuts of the same data, where nothing changed but the
calendar. No drift test may fail there, while a real shift in the inputs
(spend x3, or sessions removed for half of the customers) still fails the day.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dbt_helpers import REPO_ROOT, assert_dbt_ok, raw_event_times, read_table

from segment_and_predict.dbt.jobs import Warehouse, daily_build, full_build

# When a row arrived in the export: its table's meta.event_time in the sources
# (order_lines arrive with their orders); and the later timestamps of a row that
# are not known yet before the cut.
ARRIVAL = raw_event_times()
LATER = {
    "marketing_messages": ("opened_at", "clicked_at"),
    "support_tickets": ("resolved_at",),
}
# The shop's first day in the small data (its first order): keeping only the
# customers who signed up since then makes every tenure grow with the calendar,
# as in an export that starts on the data's first day.
OPENED = "2025-05-01"
TRAINED_ON = "2026-09-01"
NORMAL_DAYS = ("2026-09-16",)
SHIFTED_DAY = "2026-10-01"
# A real shift: sessions lost for half of the customers (e.g. a broken tracker).
SESSIONS_LOST_FOR_HALF = {"sessions": "select * from t where hash(customer_id) % 2 = 0"}


def cut_export(
    source: Path,
    target: Path,
    cut: str,
    *,
    signed_up_since: str | None = None,
    changes: dict[str, str] | None = None,
) -> Path:
    """The export as it stood on the morning of ``cut``: rows that arrived before it only.

    ``signed_up_since`` keeps only the customers who signed up on or after that
    date, and their rows: a shop whose export starts on its first day, so every
    tenure grows with the calendar. ``changes`` maps a table to a SQL select
    over ``t`` (the cut table) that replaces it, to simulate a real shift.
    """
    target.mkdir(parents=True)
    at = f"timestamp '{cut} 00:00:00'"
    since = f"timestamp '{signed_up_since or '1900-01-01'} 00:00:00'"
    con = duckdb.connect()
    con.execute(
        "create table kept as select customer_id from "
        f"read_parquet('{source / 'customers.parquet'}') where signed_up_at >= {since}"
    )
    con.execute(
        f"create table orders_cut as select * from read_parquet('{source / 'orders.parquet'}') "
        f"semi join kept using (customer_id) where ordered_at < {at}"
    )
    for path in sorted(source.glob("*.parquet")):
        name = path.stem
        if name == "order_lines":
            select = (
                f"select l.* from read_parquet('{path}') l semi join orders_cut using (order_id)"
            )
        else:
            arrived, later = ARRIVAL[name], LATER.get(name, ())
            unknown = ", ".join(
                f"case when {column} < {at} then {column} end as {column}" for column in later
            )
            replace = f" replace ({unknown})" if later else ""
            select = (
                f"select *{replace} from read_parquet('{path}') "
                f"semi join kept using (customer_id) where {arrived} < {at}"
            )
        con.execute(f"create or replace table t as {select}")
        final = (changes or {}).get(name, "select * from t")
        con.execute(f"copy ({final}) to '{target / path.name}' (format parquet)")
    con.close()
    return target


def _failed_drift_tests(stdout: str) -> list[str]:
    return [
        line.strip()
        for line in stdout.splitlines()
        if "FAIL" in line and "psi_" in line and "threshold" in line
    ]


@pytest.fixture(scope="module")
def walk_forward(small_raw_data, tmp_path_factory):
    """Train on the export of TRAINED_ON, the daily job on NORMAL_DAYS, then on a shifted day."""
    folder = tmp_path_factory.mktemp("walk_forward")
    warehouse_path = folder / "walk.duckdb"

    def export(day: str, **changes) -> Warehouse:
        raw = cut_export(small_raw_data, folder / day, day, signed_up_since=OPENED, **changes)
        return Warehouse.from_paths(REPO_ROOT, raw, warehouse_path)

    runs = {TRAINED_ON: full_build(export(TRAINED_ON), capture=True)}
    for day in NORMAL_DAYS:
        runs[day] = daily_build(export(day), capture=True)
    shifted = daily_build(export(SHIFTED_DAY, changes=SESSIONS_LOST_FOR_HALF), capture=True)
    return Warehouse.from_paths(REPO_ROOT, folder, warehouse_path), runs, shifted


def test_normal_days_raise_no_error_level_drift(walk_forward):
    warehouse, runs, _ = walk_forward
    for day, result in runs.items():
        assert not _failed_drift_tests(result.stdout), (day, _failed_drift_tests(result.stdout))
        assert_dbt_ok(result)
    drift = read_table(
        warehouse,
        "select as_of_date, feature, psi, is_calendar_age, calendar_shift_days "
        "from monitoring_feature_drift",
    )
    drift["day"] = day = drift["as_of_date"].dt.date.astype(str)
    assert sorted(day.unique()) == [TRAINED_ON, *NORMAL_DAYS, SHIFTED_DAY]
    tenure = drift[drift["feature"] == "tenure_days"].set_index("day")
    assert tenure["is_calendar_age"].all()
    # moved back by the days since the model's newest training date (90 days before TRAINED_ON)
    assert tenure.loc[TRAINED_ON, "calendar_shift_days"] == 90
    assert tenure.loc[NORMAL_DAYS[-1], "calendar_shift_days"] == 105
    # every other feature stays below the fail threshold on the normal days
    others = drift[~drift["is_calendar_age"].astype(bool) & (day != SHIFTED_DAY)]
    assert len(others) and others["psi"].max() < 0.25


def test_a_real_shift_still_fails_the_day(walk_forward):
    warehouse, _, shifted = walk_forward
    assert shifted.returncode != 0
    failed = _failed_drift_tests(shifted.stdout)
    assert any("monitoring_feature_drift_psi_above_fail_threshold" in line for line in failed)
    worst = read_table(
        warehouse,
        f"select feature, psi from monitoring_feature_drift where as_of_date = '{SHIFTED_DAY}' "
        "and not is_calendar_age order by psi desc limit 1",
    ).iloc[0]
    # the features built from sessions moved, far beyond the fail threshold
    assert "session" in worst["feature"]
    assert worst["psi"] > 0.25
