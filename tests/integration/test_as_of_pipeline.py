"""The whole-pipeline as-of proof: as_of_date anchors every date the pipeline uses.

A full build (training, scoring, segments, marts, monitoring) on the whole export
with as_of_date = D, and the same build on the export with every row at or after
D removed, must give the same public tables: scores and reasons, segments and
profiles, the registries' metrics, thresholds and baselines, the monitoring
tables. Floats agree to 1e-9 (also inside JSON columns); everything else exactly.

Left out, because they legitimately differ between two runs or describe the
export rather than the date (tests/support/as_of_proof.py):
- trained_at, model ids (made from trained_at), training_fingerprint, and the
  segmenter's model_json (it embeds its own id; its centroids and preprocessing
  are compared in their own columns);
- data_sources and data_quality_issues: the row counts of the export read.

Run on the small generated data and on the CDNOW excerpt.

The daily chain (issue 20): after the build on the cut export, daily jobs on
consecutive days, the export growing by a day before each, must publish for the
last date exactly (bit for bit) the features, scores, reasons and segments that a
rebuild from scratch of that date gives with the same serving models; a day's
job leaves the earlier days as they were. The guard any incremental path has to
pass.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from as_of_proof import public_tables, table_differences
from dbt_helpers import REPO_ROOT, archived_feature_dates, assert_dbt_ok, read_table

from segment_and_predict.data.datasets.cdnow import CDNOW_GATE_VARS, convert_cdnow
from segment_and_predict.data.export_cut import cut_export
from segment_and_predict.dbt import jobs
from segment_and_predict.dbt.history import default_history_dir
from segment_and_predict.dbt.jobs import Warehouse, daily_build, full_build
from segment_and_predict.dbt.project import project_vars

pytestmark = pytest.mark.integration  # every test here builds with dbt

EXCERPT = REPO_ROOT / "tests" / "data" / "cdnow_excerpt.txt"
# Far enough into the data for six labelled training snapshots, and months
# before its end, so the full export holds plenty of rows after the date.
GENERATED_AS_OF = "2026-08-15"
CDNOW_AS_OF = "1998-03-01"
# The daily jobs after the build on the export cut at GENERATED_AS_OF: one a day,
# the export growing by a day before each, as a scheduled job meets it.
DAILY_DATES = ("2026-08-16", "2026-08-17")
# What a daily job publishes for its date, one row per customer: the features,
# the scores with their reasons, the segments.
DAILY_TABLES = ("customer_features", "propensity_scores", "customer_segments")


def _build_full_and_cut(raw, base, as_of_date, dbt_vars=None):
    counts = cut_export(raw, base / "cut_raw", as_of_date)
    warehouses = {}
    for name, source in (("full", raw), ("cut", base / "cut_raw")):
        warehouse = Warehouse.from_paths(REPO_ROOT, source, base / f"{name}.duckdb")
        assert_dbt_ok(full_build(warehouse, as_of_date=as_of_date, dbt_vars=dbt_vars, capture=True))
        warehouses[name] = warehouse
    return counts, warehouses


@pytest.fixture(scope="module")
def generated_builds(small_raw_data, tmp_path_factory):
    base = tmp_path_factory.mktemp("as_of_generated")
    return _build_full_and_cut(small_raw_data, base, GENERATED_AS_OF)


@pytest.fixture(scope="module")
def cdnow_builds(tmp_path_factory):
    base = tmp_path_factory.mktemp("as_of_cdnow")
    convert_cdnow(EXCERPT, base / "raw")
    return _build_full_and_cut(base / "raw", base, CDNOW_AS_OF, CDNOW_GATE_VARS)


def _assert_same_public_tables(builds, as_of_date):
    counts, warehouses = builds
    # the cut really removed the future, or the proof proves nothing
    assert counts["orders"][1] < counts["orders"][0] * 0.95
    full = public_tables(warehouses["full"].warehouse_path)
    cut = public_tables(warehouses["cut"].warehouse_path)
    for table in ("propensity_scores", "customer_segments", "segment_profiles"):
        assert len(full[table]) > 0, f"{table} is empty: the build scored nothing"
    scored_dates = {
        pd.Timestamp(d).date().isoformat() for d in full["propensity_scores"]["as_of_date"]
    }
    assert scored_dates == {as_of_date}
    assert bool(full["propensity_models"]["passed_quality_gate"].iloc[0])
    problems = table_differences(full, cut)
    assert not problems, "the full and the cut export gave different tables:\n" + "\n".join(
        problems
    )


def _assert_every_label_window_ends_by(warehouse, as_of_date):
    model = read_table(
        warehouse, "select test_as_of_date, validation_as_of_date from propensity_models"
    ).iloc[0]
    # the test snapshot is the last one whose 30-day window ends by as_of_date
    assert str(model["test_as_of_date"]) == str(
        read_table(warehouse, f"select date '{as_of_date}' - 30 as d")["d"].iloc[0].date()
    )
    late = read_table(
        warehouse,
        f"select count(*) as n from features.customer_labels where purchased_next_30d is not null "
        f"and as_of_date + 30 > date '{as_of_date}'",
    )["n"].iloc[0]
    assert late == 0


def test_generated_data_gives_the_same_tables_with_and_without_the_future(generated_builds):
    _assert_same_public_tables(generated_builds, GENERATED_AS_OF)


def test_generated_data_labels_end_by_the_as_of_date(generated_builds):
    _, warehouses = generated_builds
    _assert_every_label_window_ends_by(warehouses["full"], GENERATED_AS_OF)


def test_cdnow_gives_the_same_tables_with_and_without_the_future(cdnow_builds):
    _assert_same_public_tables(cdnow_builds, CDNOW_AS_OF)


def test_cdnow_labels_end_by_the_as_of_date(cdnow_builds):
    _, warehouses = cdnow_builds
    _assert_every_label_window_ends_by(warehouses["full"], CDNOW_AS_OF)


def _rows_of_date(warehouse, table, as_of_date):
    rows = read_table(
        warehouse, f"select * from main.{table} where as_of_date = date '{as_of_date}'"
    )
    return rows.sort_values("customer_id", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def daily_chain(generated_builds, small_raw_data, tmp_path_factory):
    """Daily jobs on consecutive days after the cut build, and a from-scratch rebuild of the last.

    The chain: a copy of the warehouse built on the export cut at GENERATED_AS_OF,
    then one daily job per date of DAILY_DATES, each on the export as it stood that
    morning, each on a compacted working copy. The rebuild: another copy of that
    warehouse, then the last date's daily job with --full-refresh (every selected
    model built from the export alone), so both serve the same trained models.
    """
    base = tmp_path_factory.mktemp("daily_chain")
    built = generated_builds[1]["cut"].warehouse_path
    chain_file, rebuilt_file = base / "chain.duckdb", base / "rebuilt.duckdb"
    shutil.copyfile(built, chain_file)
    shutil.copyfile(built, rebuilt_file)
    first_day_rows = {}
    with pytest.MonkeyPatch.context() as patch:
        # every day of the chain builds on a compacted working copy (COPY FROM
        # DATABASE), the rebuild on a byte copy: the equality tests below cover both
        patch.setattr(jobs, "COMPACT_MIN_BYTES", 0)
        patch.setattr(jobs, "COMPACT_FREE_SHARE", 0)
        compacted = []

        def compact_copy(original, work, env):
            compacted.append(real_compact_copy(original, work, env))
            return compacted[-1]

        real_compact_copy = jobs.compact_copy
        patch.setattr(jobs, "compact_copy", compact_copy)
        for day in DAILY_DATES:
            raw = base / f"raw_{day}"
            cut_export(small_raw_data, raw, day)
            chain = Warehouse.from_paths(REPO_ROOT, raw, chain_file)
            assert_dbt_ok(daily_build(chain, as_of_date=day, capture=True))
            if day == DAILY_DATES[0]:
                first_day_rows = {t: _rows_of_date(chain, t, day) for t in DAILY_TABLES}
        assert compacted == [True] * len(DAILY_DATES)
    rebuilt = Warehouse.from_paths(REPO_ROOT, raw, rebuilt_file)
    assert_dbt_ok(daily_build(rebuilt, as_of_date=DAILY_DATES[-1], full_refresh=True, capture=True))
    return chain, rebuilt, first_day_rows


def test_daily_jobs_on_consecutive_days_equal_a_rebuild_from_scratch(daily_chain):
    # issue 20: what the daily job publishes for its date does not depend on the
    # history tables' earlier days (or on how they were built), bit for bit
    chain, rebuilt, _ = daily_chain
    last = DAILY_DATES[-1]
    for table in DAILY_TABLES:
        incremental = _rows_of_date(chain, table, last)
        from_scratch = _rows_of_date(rebuilt, table, last)
        assert len(incremental) > 1000, f"{table} has no rows for {last}"
        pd.testing.assert_frame_equal(incremental, from_scratch, check_exact=True, obj=table)
    # the two really took different paths: the chain kept every day, the rebuild one
    for table in DAILY_TABLES:
        dates = read_table(chain, f"select distinct as_of_date::varchar as d from main.{table}")
        assert set(DAILY_DATES) | {GENERATED_AS_OF} <= set(dates["d"]), table
        rebuilt_dates = read_table(
            rebuilt, f"select distinct as_of_date::varchar as d from main.{table}"
        )
        assert GENERATED_AS_OF not in set(rebuilt_dates["d"]), table


def test_a_daily_job_leaves_the_earlier_days_as_they_were(daily_chain):
    chain, _, first_day_rows = daily_chain
    for table, rows in first_day_rows.items():
        pd.testing.assert_frame_equal(
            _rows_of_date(chain, table, DAILY_DATES[0]), rows, check_exact=True, obj=table
        )


def test_the_daily_job_moves_features_older_than_the_history_days_to_parquet(
    daily_chain, generated_builds
):
    # The warehouse keeps feature_history_days of customer_features before the
    # scoring date; older dates, here the cut build's training snapshots, are
    # in Parquet beside it, every row exactly as the build wrote it.
    chain, _, _ = daily_chain
    keep_days = int(project_vars(REPO_ROOT)["feature_history_days"])
    last = DAILY_DATES[-1]
    kept = read_table(chain, "select distinct as_of_date::varchar as d from main.customer_features")
    oldest_kept = read_table(chain, f"select (date '{last}' - {keep_days})::varchar as d")["d"][0]
    assert min(kept["d"]) >= oldest_kept
    archive = default_history_dir(chain.warehouse_path) / "customer_features"
    built = generated_builds[1]["cut"]
    moved = read_table(
        built,
        f"select * from main.customer_features where as_of_date < date '{oldest_kept}'",
    )
    assert moved["as_of_date"].nunique() >= 2, "the cut build has no training dates to move"
    assert archived_feature_dates(chain) == sorted(
        str(d.date()) for d in moved["as_of_date"].unique()
    )
    written = read_table(
        built, f"select * from read_parquet('{archive}/*/rows.parquet', hive_partitioning=false)"
    )
    key = ["as_of_date", "customer_id"]
    pd.testing.assert_frame_equal(
        written.sort_values(key, ignore_index=True),
        moved.sort_values(key, ignore_index=True),
        check_exact=True,
    )
