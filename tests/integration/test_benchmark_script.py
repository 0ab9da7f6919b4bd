"""Smoke test of the benchmark (segment_and_predict.benchmark, run as scripts/benchmark.py)
on a tiny data set (timings are not asserted)."""

from __future__ import annotations

import json

import pytest

from segment_and_predict import benchmark


@pytest.mark.integration
def test_benchmark_writes_the_expected_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    work = tmp_path / "work"
    code = benchmark.main(
        ["--customers", "1500", "--runs", "1", "--workdir", str(work), "--out", str(out)]
    )
    assert code == 0
    result = json.loads(out.read_text())

    assert {"schema_version", "created_at", "config", "machine", "data", "stages", "dbt"} <= set(
        result
    )
    assert result["config"]["customers"] == 1500
    assert result["config"]["runs"] == 1
    assert {"cpu_count", "total_memory_mib", "python", "versions"} <= set(result["machine"])
    assert {"duckdb", "lightgbm", "dbt-core"} <= set(result["machine"]["versions"])
    assert result["data"]["raw"]["rows"]["customers"] == 1500

    for stage, runs in {"generate": 1, "build": 1, "daily": 1}.items():
        summary = result["stages"][stage]
        assert len(summary["runs"]) == runs
        for key in ("wall_s", "peak_rss_mib"):
            assert set(summary[key]) == {"median", "min", "max"}
            assert summary[key]["median"] > 0

    build_nodes = result["dbt"]["build"]["nodes"]
    daily_nodes = result["dbt"]["daily"]["nodes"]
    assert build_nodes and daily_nodes
    assert {"resource_type", "status", "execution_time"} <= set(next(iter(build_nodes.values())))
    assert set(next(iter(daily_nodes.values()))["execution_time"]) == {"median", "min", "max"}
    # the daily build does not retrain: training nodes run in the full build only
    training = {uid for uid in build_nodes if uid.endswith(".propensity_models")}
    assert training and not training & set(daily_nodes)

    printed = capsys.readouterr().out
    assert "daily (no retraining)" in printed and "slowest dbt nodes" in printed
    # the work folder was created by the run and is removed without --keep
    assert not work.exists()
