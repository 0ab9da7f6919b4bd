"""Failed gates, crashes and the serving rule: one run, one consistent state.

- A failed propensity gate exits non-zero and says why in one plain line
  (metric, value, threshold, var, the model that keeps serving), records the
  failed model, never serves it, and does not stop the segments, on a built
  warehouse (a new segmenter is published) and on a fresh one (no propensity
  model serves yet, the segments are published). The reverse for a failed
  segment gate.
- A crash in training or in scoring (injected, tests/integration/fault_injection)
  leaves every public table exactly as it was, and the next clean daily run
  serves the models that served before.
- After every run, the public tables pass the consistency invariants
  (tests/support/serving_invariants.py). See docs/operations.md.
- The summary the CLI prints at the end of each of these runs
  (segment_and_predict/dbt/run_summary.py) gives their real counts, gate values
  and serving models, and for a crash what failed and what the kept copy holds.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from dbt_helpers import REPO_ROOT, public_table_checksums

from segment_and_predict.dbt.jobs import (
    Warehouse,
    run_completed,
)

# ------------------------------------------------ a failed propensity gate


# --------------------------------------------------- a failed segment gate


# ------------------------------------------------------------------ crashes


# ----------------------------------------- which runs are kept (no dbt run)


def results_file(tmp_path: Path, statuses: list[str], invocation: str = "new") -> Path:
    path = tmp_path / "run_results.json"
    results = [{"unique_id": f"node.{i}", "status": s} for i, s in enumerate(statuses)]
    path.write_text(json.dumps({"metadata": {"invocation_id": invocation}, "results": results}))
    return path


@pytest.mark.parametrize(
    ("returncode", "statuses", "previous", "kept"),
    [
        (0, ["success", "pass"], None, True),
        (1, ["success", "fail", "pass", "warn"], None, True),  # a failed gate or drift test
        (1, ["success", "error", "skipped"], None, False),  # a model crashed
        (1, ["success", "fail", "skipped"], None, False),  # a failing test stopped consumers
        (1, ["success", "fail"], "new", False),  # results of an earlier run: dbt stopped early
        (2, ["success"], None, False),  # dbt itself failed or was interrupted
        (-9, [], None, False),
    ],
)
def test_only_a_run_that_completed_is_kept(tmp_path, returncode, statuses, previous, kept):
    path = results_file(tmp_path, statuses)
    assert run_completed(returncode, path, previous) is kept


@pytest.mark.parametrize("compacted", [False, True], ids=["byte copy", "compacted copy"])
def test_while_a_job_runs_on_its_copy_other_writers_of_the_warehouse_fail_at_once(
    tmp_path, monkeypatch, compacted
):
    """The job holds the warehouse read-only while dbt builds the copy (no dbt run here).

    The copy (byte for byte, or compacted for a mostly free file) is taken
    before the hold: copying while holding would close a descriptor of the file
    and so drop DuckDB's lock, and a plain `dbt build` could then write the
    warehouse meanwhile.
    """
    import duckdb

    from segment_and_predict.dbt import jobs
    from segment_and_predict.dbt.jobs import _run_on_working_copy

    if compacted:
        monkeypatch.setattr(jobs, "COMPACT_MIN_BYTES", 0)
        monkeypatch.setattr(jobs, "COMPACT_FREE_SHARE", 0)
    copies = []
    real_compact_copy = jobs.compact_copy
    monkeypatch.setattr(
        jobs, "compact_copy", lambda *args: copies.append(real_compact_copy(*args)) or copies[-1]
    )

    original = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(original)) as con:
        con.execute("create table kept as select 1 as x")
    warehouse = Warehouse(REPO_ROOT, tmp_path, original)
    before = public_table_checksums(warehouse)
    other_writer = [
        sys.executable,
        "-c",
        f"import duckdb; duckdb.connect({str(original)!r}).execute('create table t as select 1')",
    ]
    result = _run_on_working_copy(other_writer, warehouse, dict(os.environ), capture=True)
    assert result.returncode != 0
    assert "Could not set lock on file" in result.stderr
    assert result.published is False
    assert public_table_checksums(warehouse) == before
    assert copies == [compacted]


def test_a_failed_test_that_skipped_only_the_bi_snapshot_is_kept(tmp_path):
    """A drift alarm skips the BI snapshot (readers keep the previous day), not the warehouse."""
    publish = "model.segment_and_predict.bi_snapshot"

    def results(*nodes: tuple[str, str]) -> Path:
        path = tmp_path / f"run_results_{len(list(tmp_path.iterdir()))}.json"
        rows = [{"unique_id": uid, "status": status} for uid, status in nodes]
        path.write_text(json.dumps({"metadata": {"invocation_id": "new"}, "results": rows}))
        return path

    drift_alarm = results(
        ("model.a", "success"),
        ("test.drift", "fail"),
        (publish, "skipped"),
        ("exposure.segment_and_predict.growth_dashboard", "skipped"),
    )
    assert run_completed(1, drift_alarm, None)
    rejected = results(("test.quality", "fail"), ("model.b", "skipped"), (publish, "skipped"))
    assert not run_completed(1, rejected, None)
