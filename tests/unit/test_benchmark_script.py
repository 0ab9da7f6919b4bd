"""Smoke test of the benchmark (segment_and_predict.benchmark, run as scripts/benchmark.py)
on a tiny data set (timings are not asserted)."""

from __future__ import annotations

import sys

import pytest

from segment_and_predict import benchmark


def test_peak_memory_is_that_of_the_stage_tree_alone(tmp_path):
    # a child holding ~64 MiB that starts a grandchild holding ~160 MiB: the
    # peak is the grandchild's, whichever way it is measured
    code = (
        "import subprocess, sys; x = bytearray(64 << 20); "
        "subprocess.run([sys.executable, '-c', 'y = bytearray(160 << 20)'], check=True)"
    )
    methods = ["wrapper"] + (["gnu-time"] if benchmark.gnu_time_available() else [])
    for method in methods:
        log = tmp_path / f"{method}.log"
        m = benchmark.measure([sys.executable, "-c", code], log, method=method)
        assert m.returncode == 0
        assert 160 <= m.peak_rss_mib < 400, (method, m)


def test_the_days_table_compares_the_last_days_with_the_first():
    days = [
        {"day": d, "scoring_date": f"2026-10-{d:02d}", "wall_s": w, "user_s": w, "sys_s": 0.0,
         "dbt_elapsed_s": w - 4, "peak_rss_mib": 900.0, "warehouse_mib": 500.0 + 10 * d}
        for d, w in enumerate([10.0, 11.0, 10.0, 12.0, 10.0, 13.0, 11.0], start=1)
    ]  # fmt: skip
    text = "\n".join(benchmark.format_days(days))
    assert "7 consecutive days" in text
    assert "warehouse MiB after" in text and "570" in text  # the file each job copies
    # last / first = 11 / 10; median of the last 5 (10, 12, 10, 13, 11) = 11, of the
    # first 5 (10, 11, 10, 12, 10) = 10
    assert "last day / first day: 1.100 (wall)" in text
    assert "median of the last 5 / median of the first 5: 1.100" in text
    assert benchmark.format_days([]) == []


@pytest.mark.parametrize(
    "argv",
    [["--runs", "0"], ["--days", "1", "--runs", "0"], ["--compare-pandas", "-1"]],
)
def test_runs_days_and_pairs_that_measure_nothing_are_refused(argv):
    with pytest.raises(SystemExit):
        benchmark.main(["--customers", "10", *argv])


def test_the_profile_settings_it_records_are_the_profiles_defaults():
    from segment_and_predict.benchmark import profile_settings

    settings = profile_settings({})
    assert settings == {
        "SAP_DBT_THREADS": "1",
        "SAP_DUCKDB_THREADS": "2",
        "SAP_DUCKDB_MEMORY_LIMIT": "3GB",
    }
    assert profile_settings({"SAP_DUCKDB_MEMORY_LIMIT": "6GB"})["SAP_DUCKDB_MEMORY_LIMIT"] == "6GB"
