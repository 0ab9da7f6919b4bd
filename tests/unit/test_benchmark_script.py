"""Smoke test of the benchmark (segment_and_predict.benchmark, run as scripts/benchmark.py)
on a tiny data set (timings are not asserted)."""

from __future__ import annotations

import sys

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
