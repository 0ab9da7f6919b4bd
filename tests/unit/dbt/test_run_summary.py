"""The summary the CLI prints after build and daily (segment_and_predict.dbt.run_summary).

Unit layer: each test builds a tiny warehouse by hand (summary_warehouse.py)
and checks the summary's lines; no dbt runs. The end-to-end runs of the CLI
(test_hostile_runs.py) check the same lines against real builds.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from summary_warehouse import (
    NEW_PROPENSITY,
    NEW_SEGMENTER,
    OLD_PROPENSITY,
    OLD_SEGMENTER,
    PROPENSITY_CHECKS,
    RUN_STARTED,
    SEGMENT_CHECKS,
    make_warehouse,
)

from segment_and_predict.dbt.run_summary import (
    BI_SNAPSHOT_NODE,
    REPORT_PATH,
    RunFacts,
    run_node_statuses,
    summary_lines,
)


def facts(warehouse: Path, command: str = "build", **changes) -> RunFacts:
    """A run that completed and was kept, started at RUN_STARTED, published to BI."""
    publish_dir = warehouse.with_name(warehouse.stem + "_bi")
    base = RunFacts(
        command=command,
        returncode=0,
        kept=True,
        warehouse_path=warehouse,
        bi_published=publish_dir / "current",
        publish_dir=publish_dir,
        started=RUN_STARTED,
    )
    return replace(base, **changes)


def test_a_successful_build_says_what_trained_the_gates_the_counts_and_where_to_read(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb")
    lines = summary_lines(facts(warehouse))
    assert lines == [
        "Summary of this build:",
        f"Result: completed; the public tables in {warehouse} are this run's",
        "Scoring date: 2026-11-01",
        "Customers scored (propensity_scores): 3; segmented (customer_segments): 3",
        f"Propensity model trained: {NEW_PROPENSITY}, passed its gate",
        "  gate: ROC-AUC 0.874 (>= 0.82), PR-AUC 0.765 (>= 0.45), F1 0.709 (>= 0.55), "
        "beats the baselines: yes",
        f"Segmenter trained: {NEW_SEGMENTER}, passed its gate",
        "  gate: k 4 (4 to 8), silhouette 0.302 (>= 0.2), stability 0.952 (>= 0.75), "
        "smallest segment 15.3% (>= 3.0%)",
        f"Serving propensity model: {NEW_PROPENSITY} (new)",
        f"Serving segmenter: {NEW_SEGMENTER} (new)",
        "Data quality: 6 rows quarantined (orders 4, sessions 2; 3 issues in data_quality_issues)",
        f"BI snapshot: published to {tmp_path / 'w_bi' / 'current'} (docs/bi.md)",
        f"Report: segment-and-predict report --warehouse {warehouse} (writes reports/report.html)",
    ]


def test_the_counts_are_of_the_scoring_date_only(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb", scored=1234, segmented=1200)
    assert (
        "Customers scored (propensity_scores): 1,234; segmented (customer_segments): 1,200"
        in summary_lines(facts(warehouse))
    )


def test_a_failed_propensity_gate_shows_the_value_the_threshold_and_the_model_kept(tmp_path):
    checks = [("ROC-AUC", 0.7001, ">=", 0.999, "propensity_gate_min_roc_auc")]
    warehouse = make_warehouse(
        tmp_path / "w.duckdb", propensity_checks=checks + PROPENSITY_CHECKS[1:]
    )
    lines = summary_lines(facts(warehouse, returncode=1))
    assert f"Propensity model trained: {NEW_PROPENSITY}, FAILED its gate" in lines
    gate = lines[lines.index(f"Propensity model trained: {NEW_PROPENSITY}, FAILED its gate") + 1]
    assert gate.startswith("  gate: ROC-AUC 0.700 (FAILED: required >= 0.999), PR-AUC 0.765")
    assert (
        f"Serving propensity model: {OLD_PROPENSITY} "
        f"(the previous one, kept: the new {NEW_PROPENSITY} failed its gate)"
    ) in lines
    # the other kind is unaffected
    assert f"Serving segmenter: {NEW_SEGMENTER} (new)" in lines
    assert lines[1] == (
        f"Result: completed with failures (exit 1); the public tables in {warehouse} are this run's"
    )


def test_a_failed_segment_gate_marks_each_failed_check(tmp_path):
    checks = [
        ("k (number of segments)", 9.0, ">=", 4.0, "segment_gate_min_k"),
        ("k (number of segments)", 9.0, "<=", 8.0, "segment_gate_max_k"),
        ("silhouette", 0.12, ">=", 0.2, "segment_gate_min_silhouette"),
        *SEGMENT_CHECKS[3:],
    ]
    warehouse = make_warehouse(tmp_path / "w.duckdb", segment_checks=checks)
    lines = summary_lines(facts(warehouse, returncode=1))
    assert f"Segmenter trained: {NEW_SEGMENTER}, FAILED its gate" in lines
    assert (
        "  gate: k 9 (FAILED: required 4 to 8), silhouette 0.120 (FAILED: required >= 0.2), "
        "stability 0.952 (>= 0.75), smallest segment 15.3% (>= 3.0%)"
    ) in lines
    assert (
        f"Serving segmenter: {OLD_SEGMENTER} "
        f"(the previous one, kept: the new {NEW_SEGMENTER} failed its gate)"
    ) in lines


def test_a_baseline_check_that_is_not_required_says_so(tmp_path):
    checks = PROPENSITY_CHECKS[:3] + [
        ("no baseline better beyond noise (1 = yes)", 0.0, ">=", 0.0, "x")
    ]
    warehouse = make_warehouse(tmp_path / "w.duckdb", propensity_checks=checks)
    gate = next(line for line in summary_lines(facts(warehouse)) if "ROC-AUC" in line)
    assert gate.endswith("F1 0.709 (>= 0.55), beating the baselines not required")


def test_the_failed_steps_of_a_kept_run_are_named(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb")
    statuses = {
        "model.segment_and_predict.propensity_scores": "success",
        "test.segment_and_predict.propensity_quality_gate.ab12": "fail",
        "test.segment_and_predict.no_rows_quarantined": "warn",
    }
    lines = summary_lines(facts(warehouse, returncode=1, node_statuses=statuses))
    assert lines[1].startswith(
        "Result: completed with failures (exit 1: propensity_quality_gate (fail)); "
    )


def test_a_build_that_trained_nothing_new_says_so(tmp_path):
    """A rerun on the same inputs appends no registry row (segment_and_predict.ml.registry)."""
    warehouse = make_warehouse(tmp_path / "w.duckdb", retrained=False)
    lines = summary_lines(facts(warehouse))
    assert (
        f"Propensity model: none trained in this run (the newest, {OLD_PROPENSITY}, "
        "was trained 2026-10-01 06:00 UTC)"
    ) in lines
    assert f"Serving propensity model: {OLD_PROPENSITY} (trained 2026-10-01 06:00 UTC)" in lines
    assert not any("gate:" in line for line in lines)


def test_the_daily_run_names_the_serving_models_and_trains_nothing(tmp_path):
    checks = [("ROC-AUC", 0.7, ">=", 0.999, "propensity_gate_min_roc_auc")]
    warehouse = make_warehouse(tmp_path / "w.duckdb", propensity_checks=checks)
    lines = summary_lines(facts(warehouse, command="daily", bi_published=None))
    assert lines[0] == "Summary of this daily run (no retraining):"
    assert not any("trained:" in line or "gate:" in line for line in lines)
    assert (
        f"Serving propensity model: {OLD_PROPENSITY} (trained 2026-10-01 06:00 UTC; "
        f"the newer {NEW_PROPENSITY} failed its gate)"
    ) in lines
    assert f"Serving segmenter: {NEW_SEGMENTER} (trained 2026-11-02 06:30 UTC)" in lines
    assert "BI snapshot: not published by this run (none published yet)" in lines
    assert len(lines) <= 15


def test_a_clean_export_and_unseen_values_in_the_data_quality_line(tmp_path):
    warehouse = make_warehouse(
        tmp_path / "w.duckdb", quarantined=(), unseen=(("region", "atlantis", 5),)
    )
    assert (
        "Data quality: no rows quarantined; 1 category values the model never saw "
        "(5 customers, unseen_category_values)"
    ) in summary_lines(facts(warehouse))


def test_tables_an_older_warehouse_lacks_give_n_a_not_an_error(tmp_path):
    warehouse = make_warehouse(
        tmp_path / "w.duckdb",
        skip=(
            "intermediate.int_snapshot_dates",
            "model_gate_checks",
            "data_quality_issues",
            "serving_models",
            "customer_segments",
        ),
    )
    lines = summary_lines(facts(warehouse))
    # the scoring date falls back to the latest scored date
    assert "Scoring date: 2026-11-01" in lines
    assert (
        "Customers scored (propensity_scores): 3; "
        "segmented (customer_segments): n/a (no customer_segments table)"
    ) in lines
    assert "  gate: n/a (no model_gate_checks)" in lines
    assert "Serving: n/a (no serving_models table)" in lines
    assert "Data quality: n/a (no data_quality_issues table)" in lines


def test_an_empty_or_missing_warehouse_gives_n_a_lines(tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    lines = summary_lines(facts(empty))
    assert "Scoring date: n/a" in lines
    assert "Propensity model: n/a (no propensity_models table)" in lines
    assert "Segmenter: n/a (no segment_models table)" in lines
    missing = summary_lines(facts(tmp_path / "nowhere.duckdb"))
    assert f"Warehouse: n/a (no warehouse file at {tmp_path / 'nowhere.duckdb'})" in missing
    assert missing[-1].startswith("Report: ")


def test_a_failed_run_says_what_failed_and_summarises_the_copy_it_kept(tmp_path):
    """Not kept: the public tables were not replaced; the copy counts only what this run built."""
    warehouse = tmp_path / "w.duckdb"
    failed_copy = make_warehouse(tmp_path / "w.duckdb.failed.duckdb")
    (tmp_path / "w_bi" / "snapshots" / "s1").mkdir(parents=True)
    (tmp_path / "w_bi" / "current").symlink_to("snapshots/s1")
    statuses = {
        "model.segment_and_predict.int_snapshot_dates": "success",
        "model.segment_and_predict.segment_models": "success",
        "model.segment_and_predict.propensity_models": "error",
        "model.segment_and_predict.propensity_scores": "skipped",
        "model.segment_and_predict.customer_segments": "skipped",
        "model.segment_and_predict.data_quality_issues": "success",
        BI_SNAPSHOT_NODE: "skipped",
    }
    run = facts(
        warehouse,
        returncode=1,
        kept=False,
        failed_copy=failed_copy,
        bi_published=None,
        node_statuses=statuses,
    )
    lines = summary_lines(run)
    assert lines[:4] == [
        "Summary of this build:",
        "Result: FAILED (exit 1: propensity_models (error); 3 steps skipped)",
        f"The public tables in {warehouse} were not replaced: they and the serving models "
        "are as before the run",
        f"What the run built, not kept (in {failed_copy}):",
    ]
    assert "  Scoring date: 2026-11-01" in lines
    # the copy holds the previous run's scores: not counted as this run's
    assert "  Customers scored and segmented: n/a (not built by this run)" in lines
    assert f"  Propensity model trained: {NEW_PROPENSITY}, passed its gate" in lines
    assert "  Data quality: 6 rows quarantined (orders 4, sessions 2; 3 issues in " in lines[-3]
    assert not any(line.lstrip().startswith("Serving") for line in lines)
    assert lines[-2] == (
        f"BI snapshot: not published by this run; BI tools keep reading {tmp_path}/w_bi/current"
    )


def test_a_failed_run_that_left_no_copy_says_so(tmp_path):
    run = facts(tmp_path / "w.duckdb", returncode=2, kept=False, bi_published=None)
    lines = summary_lines(run)
    assert lines[1] == "Result: FAILED (exit 2)"
    assert "What the run built was not kept (it left no copy to inspect)" in lines
    assert len(lines) == 6


def test_the_report_path_is_the_report_commands_default():
    from segment_and_predict.report import DEFAULT_REPORT_PATH

    assert REPORT_PATH == DEFAULT_REPORT_PATH


def test_node_statuses_are_read_from_this_runs_results_only(tmp_path, monkeypatch):
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    (tmp_path / "target").mkdir()
    results = tmp_path / "target" / "run_results.json"
    results.write_text(
        json.dumps(
            {"results": [{"unique_id": BI_SNAPSHOT_NODE, "status": "success"}, "not a result"]}
        )
    )
    assert run_node_statuses(tmp_path, since=None) == {BI_SNAPSHOT_NODE: "success"}
    # written before the run started: an older run's results
    old = time.time() - 60
    os.utime(results, (old, old))
    assert run_node_statuses(tmp_path, since=time.time() - 1) == {}
    results.write_text("{broken")
    assert run_node_statuses(tmp_path) == {}


@pytest.mark.parametrize("command", ["build", "daily"])
def test_the_summary_stays_short(tmp_path, command):
    warehouse = make_warehouse(
        tmp_path / "w.duckdb",
        quarantined=tuple((f"t{i}", "missing_value", "id", i + 1) for i in range(9)),
        unseen=(("region", "x", 1), ("device", "y", 2)),
    )
    lines = summary_lines(facts(warehouse, command=command))
    assert len(lines) <= 15
    quality = next(line for line in lines if line.startswith("Data quality"))
    assert "t8 9, t7 8, t6 7, t5 6 and 5 more" in quality


def test_the_summary_says_where_the_older_feature_dates_are(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb")
    history = tmp_path / "w_history"
    assert not any(
        line.startswith("Feature history")
        for line in summary_lines(facts(warehouse, "daily", history_dir=history))
    )
    for day in ("2026-10-02", "2026-09-02", "2026-10-24"):
        folder = history / "customer_features" / f"as_of_date={day}"
        folder.mkdir(parents=True)
        (folder / "rows.parquet").write_bytes(b"")
    lines = summary_lines(facts(warehouse, "daily", history_dir=history))
    assert (
        "Feature history: customer_features keeps the last feature_history_days days; 3 earlier "
        f"dates (2026-09-02 to 2026-10-24) are Parquet files in {history / 'customer_features'} "
        "(docs/operations.md)"
    ) in lines
    assert lines[-2].startswith("Feature history") and lines[-1].startswith("Report:")
