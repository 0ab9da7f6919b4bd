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

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from dbt_helpers import REPO_ROOT, SMALL_CUSTOMERS, public_table_checksums, read_table
from serving_invariants import assert_serving_invariants

from segment_and_predict.dbt.jobs import (
    Warehouse,
    failed_copy_path,
    working_copy_path,
)

CLI = [sys.executable, "-m", "segment_and_predict"]
FAULTS = Path(__file__).parent / "fault_injection"


def run_cli(command: str, warehouse: Warehouse, *args: str, fault: str | None = None):
    env = dict(os.environ)
    if fault:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FAULTS), env.get("PYTHONPATH")]))
        env["SAP_TEST_FAULT"] = fault
    return subprocess.run(
        [
            *CLI,
            command,
            "--project-dir",
            str(REPO_ROOT),
            "--raw-data-path",
            str(warehouse.raw_data_path),
            "--warehouse",
            str(warehouse.warehouse_path),
            *args,
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def copy_of(built: Warehouse, folder: Path) -> Warehouse:
    target = folder / "warehouse.duckdb"
    shutil.copy(built.warehouse_path, target)
    return Warehouse(built.project_dir, built.raw_data_path, target)


def serving(warehouse: Warehouse) -> dict[str, str | None]:
    rows = read_table(warehouse, "select model_kind, serving_model_id from serving_models")
    return dict(zip(rows["model_kind"], rows["serving_model_id"], strict=True))


def latest_ids(warehouse: Warehouse) -> dict[str, list[str]]:
    """The model ids the latest scores, segments, profiles and activation list name."""
    queries = {
        "scores": "select distinct model_id from propensity_scores "
        "where as_of_date = (select max(as_of_date) from propensity_scores)",
        "segments": "select distinct segment_model_id from customer_segments "
        "where as_of_date = (select max(as_of_date) from customer_segments)",
        "profiles": "select distinct segment_model_id from segment_profiles",
        "targets_propensity": "select distinct propensity_model_id from campaign_target_customers",
        "targets_segment": "select distinct segment_model_id from campaign_target_customers",
    }
    return {name: read_table(warehouse, q).iloc[:, 0].tolist() for name, q in queries.items()}


def gate_lines(result, command: str = "build") -> list[str]:
    prefix = f"segment-and-predict {command}: Quality gate failed: "
    return [line for line in result.stderr.splitlines() if line.startswith(prefix)]


def summary_of(result) -> list[str]:
    """The summary the CLI printed at the end of stdout, after dbt's output (run_summary.py)."""
    before, found, summary = result.stdout.rpartition("\nSummary of this ")
    assert found and "Done. PASS=" in before, result.stdout[-3000:]
    lines = ("Summary of this " + summary).splitlines()
    assert len(lines) <= 15, lines
    return lines


def quality_line(warehouse: Warehouse) -> str:
    """The start of the summary's data-quality line for the rows data_quality_issues holds."""
    query = "select coalesce(sum(rows_quarantined), 0) as n from data_quality_issues"
    total = int(read_table(warehouse, query)["n"][0])
    if total == 0:
        return "Data quality: no rows quarantined"
    return f"Data quality: {total:,} rows quarantined ("


def latest_score_date(warehouse: Warehouse) -> str:
    query = "select strftime(max(as_of_date), '%Y-%m-%d') as d from propensity_scores"
    return read_table(warehouse, query)["d"][0]


def publish_current(warehouse: Warehouse) -> Path:
    path = warehouse.warehouse_path
    return path.with_name(path.stem + "_bi") / "current"


COUNTS = (
    f"Customers scored (propensity_scores): {SMALL_CUSTOMERS:,}; "
    f"segmented (customer_segments): {SMALL_CUSTOMERS:,}"
)


# ------------------------------------------------ a failed propensity gate


@pytest.fixture(scope="module")
def propensity_gate_failed(built_warehouse, tmp_path_factory):
    """A retrain whose propensity model misses the ROC-AUC gate while a new segmenter passes.

    segment_gate_min_segment_share is raised a little (still met), which makes
    the segmenter a real retrain on the same data; then the daily job.
    """
    warehouse = copy_of(built_warehouse, tmp_path_factory.mktemp("propensity_gate"))
    before = serving(warehouse)
    build = run_cli(
        "build",
        warehouse,
        "--vars",
        "{propensity_gate_min_roc_auc: 0.999, segment_gate_min_segment_share: 0.031}",
    )
    after_build = {"serving": serving(warehouse), "ids": latest_ids(warehouse)}
    assert_serving_invariants(warehouse)
    daily = run_cli("daily", warehouse)
    return warehouse, before, build, after_build, daily


def test_a_failed_propensity_gate_exits_non_zero_with_one_plain_line(propensity_gate_failed):
    warehouse, before, build, _, _ = propensity_gate_failed
    assert build.returncode == 1, build.stdout[-4000:] + build.stderr
    lines = gate_lines(build)
    assert len(lines) == 1, build.stderr
    failed_id = read_table(
        warehouse, "select model_id from propensity_models order by trained_at desc limit 1"
    )["model_id"][0]
    line = lines[0]
    assert f"propensity model {failed_id}, ROC-AUC = 0." in line
    assert "required >= 0.999 (var propensity_gate_min_roc_auc)" in line
    assert f"The propensity model {before['propensity']} keeps serving." in line
    # dbt's own output ends with the same sentence (on-run-end), and names the gate test
    assert line.removeprefix("segment-and-predict build: ") in build.stdout
    assert "Failure in test propensity_quality_gate" in build.stdout
    assert "Traceback" not in build.stdout + build.stderr


def test_a_failed_propensity_gate_still_builds_and_publishes_the_new_segments(
    propensity_gate_failed,
):
    _, before, build, after, _ = propensity_gate_failed
    assert "SKIP=0" in build.stdout
    assert "OK created python incremental model main.customer_segments" in build.stdout
    new_segmenter = after["serving"]["segment"]
    assert new_segmenter != before["segment"]  # the retrained segmenter passed and serves
    assert after["serving"]["propensity"] == before["propensity"]  # the failed model does not
    ids = after["ids"]
    assert ids["segments"] == ids["profiles"] == ids["targets_segment"] == [new_segmenter]
    assert ids["scores"] == ids["targets_propensity"] == [before["propensity"]]


def test_a_failed_model_is_recorded_as_failed_and_the_daily_job_never_serves_it(
    propensity_gate_failed,
):
    warehouse, before, _, after, daily = propensity_gate_failed
    registry = read_table(
        warehouse, "select model_id, passed_quality_gate from propensity_models order by trained_at"
    )
    assert registry["passed_quality_gate"].tolist() == [True, False]
    assert daily.returncode == 0, daily.stdout[-4000:] + daily.stderr
    # the daily job says the same: the newest model failed, the old one serves
    assert [line.split(": ", 1)[1] for line in gate_lines(daily, "daily")] == [
        line.split(": ", 1)[1] for line in gate_lines(propensity_gate_failed[2])
    ]
    ids = latest_ids(warehouse)
    assert ids["scores"] == ids["targets_propensity"] == [before["propensity"]]
    assert ids["segments"] == [after["serving"]["segment"]]
    assert_serving_invariants(warehouse)


def test_the_summaries_of_a_build_with_a_failed_gate_and_of_the_next_daily(
    propensity_gate_failed,
):
    warehouse, before, build, after, daily = propensity_gate_failed
    failed = read_table(
        warehouse,
        "select model_id, roc_auc, pr_auc from propensity_models order by trained_at desc limit 1",
    ).iloc[0]
    new_segmenter = after["serving"]["segment"]
    path = warehouse.warehouse_path
    lines = summary_of(build)
    assert lines[:4] == [
        "Summary of this build:",
        f"Result: completed with failures (exit 1: propensity_quality_gate (fail)); the "
        f"public tables in {path} are this run's",
        f"Scoring date: {latest_score_date(warehouse)}",
        COUNTS,
    ]
    assert f"Propensity model trained: {failed['model_id']}, FAILED its gate" in lines
    assert (
        f"  gate: ROC-AUC {failed['roc_auc']:.3f} (FAILED: required >= 0.999), "
        f"PR-AUC {failed['pr_auc']:.3f} (>= "
    ) in lines[lines.index(f"Propensity model trained: {failed['model_id']}, FAILED its gate") + 1]
    assert f"Segmenter trained: {new_segmenter}, passed its gate" in lines
    segment_gate = lines[lines.index(f"Segmenter trained: {new_segmenter}, passed its gate") + 1]
    assert segment_gate.startswith("  gate: k ") and segment_gate.endswith("(>= 3.1%)")
    assert (
        f"Serving propensity model: {before['propensity']} (the previous one, kept: the new "
        f"{failed['model_id']} failed its gate)"
    ) in lines
    assert f"Serving segmenter: {new_segmenter} (new)" in lines
    assert any(line.startswith(quality_line(warehouse)) for line in lines)
    assert f"BI snapshot: published to {publish_current(warehouse)} (docs/bi.md)" in lines
    assert lines[-1] == (
        f"Report: segment-and-predict report --warehouse {path} (writes reports/report.html)"
    )

    lines = summary_of(daily)
    assert lines[:2] == [
        "Summary of this daily run (no retraining):",
        f"Result: completed; the public tables in {path} are this run's",
    ]
    assert COUNTS in lines
    assert not any("gate:" in line for line in lines)
    serving = next(line for line in lines if line.startswith("Serving propensity model: "))
    assert serving.startswith(f"Serving propensity model: {before['propensity']} (trained ")
    assert serving.endswith(f"; the newer {failed['model_id']} failed its gate)")
    assert any(line.startswith(f"Serving segmenter: {new_segmenter} (trained ") for line in lines)
    assert f"BI snapshot: published to {publish_current(warehouse)} (docs/bi.md)" in lines


@pytest.fixture(scope="module")
def first_build_with_failed_propensity_gate(small_raw_data, tmp_path_factory):
    warehouse = Warehouse(
        REPO_ROOT, small_raw_data, tmp_path_factory.mktemp("first_build") / "fresh.duckdb"
    )
    return warehouse, run_cli("build", warehouse, "--vars", "{propensity_gate_min_roc_auc: 0.999}")


def test_a_first_build_whose_propensity_gate_fails_still_publishes_segments(
    first_build_with_failed_propensity_gate,
):
    warehouse, build = first_build_with_failed_propensity_gate
    assert build.returncode == 1, build.stdout[-4000:] + build.stderr
    lines = gate_lines(build)
    assert len(lines) == 1 and "(var propensity_gate_min_roc_auc)" in lines[0], build.stderr
    assert "No propensity model serves yet, so no propensity scores are published" in lines[0]
    assert pd.isna(serving(warehouse)["propensity"])
    counts = read_table(
        warehouse,
        "select (select count(*) from customer_segments) as segments, "
        "(select count(*) from segment_profiles) as profiles, "
        "(select count(*) from propensity_scores) as scores",
    ).iloc[0]
    assert counts["segments"] == SMALL_CUSTOMERS and counts["profiles"] > 0
    assert counts["scores"] == 0  # nothing scored with a model that failed its gate
    assert_serving_invariants(warehouse)
    lines = summary_of(build)
    assert (
        "Customers scored (propensity_scores): 0; "
        f"segmented (customer_segments): {SMALL_CUSTOMERS:,}"
    ) in lines
    assert "Serving propensity model: none yet (no model passed its gate, so no scores)" in lines


# --------------------------------------------------- a failed segment gate


@pytest.fixture(scope="module")
def segment_gate_failed(built_warehouse, tmp_path_factory):
    warehouse = copy_of(built_warehouse, tmp_path_factory.mktemp("segment_gate"))
    before = serving(warehouse)
    build = run_cli("build", warehouse, "--vars", "{segment_gate_min_silhouette: 0.99}")
    return warehouse, before, build


def test_a_failed_segment_gate_still_scores_and_says_why(segment_gate_failed):
    warehouse, before, build = segment_gate_failed
    assert build.returncode == 1, build.stdout[-4000:] + build.stderr
    lines = gate_lines(build)
    assert len(lines) == 1, build.stderr
    assert "silhouette = 0." in lines[0]
    assert "required >= 0.99 (var segment_gate_min_silhouette)" in lines[0]
    assert f"The segment model {before['segment']} keeps serving." in lines[0]
    assert "SKIP=0" in build.stdout
    assert "OK created python incremental model main.propensity_scores" in build.stdout
    assert serving(warehouse) == before
    ids = latest_ids(warehouse)
    assert ids["segments"] == ids["profiles"] == ids["targets_segment"] == [before["segment"]]
    assert ids["scores"] == [before["propensity"]]
    assert_serving_invariants(warehouse)


# ------------------------------------------------------------------ crashes


@pytest.fixture(scope="module")
def training_crash(built_warehouse, tmp_path_factory):
    """A retrain whose propensity training raises; then a clean daily.

    Both models retrain (a changed gate setting is a new training; both
    settings are still met), and the propensity training crashes.
    """
    warehouse = copy_of(built_warehouse, tmp_path_factory.mktemp("training_crash"))
    before = {"tables": public_table_checksums(warehouse), "serving": serving(warehouse)}
    crashed = run_cli(
        "build",
        warehouse,
        "--vars",
        "{segment_gate_min_segment_share: 0.031, propensity_gate_min_f1: 0.56}",
        fault="train_propensity_model",
    )
    after = public_table_checksums(warehouse)
    daily = run_cli("daily", warehouse)
    return warehouse, before, crashed, after, daily


def test_a_crash_in_training_leaves_every_public_table_as_it_was(training_crash):
    warehouse, before, crashed, after, _ = training_crash
    assert crashed.returncode != 0
    assert "injected test fault in train_propensity_model" in crashed.stdout
    assert after == before["tables"]
    assert "nothing it changed was kept" in crashed.stderr
    assert f"the warehouse {warehouse.warehouse_path} is exactly as it was" in crashed.stderr
    assert not working_copy_path(warehouse).exists()
    # what the failed run built is kept aside to inspect: its new segmenter is there
    kept = Warehouse(REPO_ROOT, warehouse.raw_data_path, failed_copy_path(warehouse))
    assert len(read_table(kept, "select * from segment_models")) == 2
    # the summary says what failed, that nothing was kept, and what the kept-aside copy holds
    new_segmenter = read_table(
        kept, "select segment_model_id from segment_models order by trained_at desc limit 1"
    )["segment_model_id"][0]
    lines = summary_of(crashed)
    assert lines[1].startswith(
        f"Result: FAILED (exit {crashed.returncode}: propensity_models (error)"
    )
    assert lines[2:4] == [
        f"The public tables in {warehouse.warehouse_path} were not replaced: they and the "
        "serving models are as before the run",
        f"What the run built, not kept (in {failed_copy_path(warehouse)}):",
    ]
    assert "  Customers scored and segmented: n/a (not built by this run)" in lines
    assert any(
        line.startswith(
            f"  Propensity model: none trained in this run (the newest, "
            f"{before['serving']['propensity']}, was trained "
        )
        for line in lines
    )
    assert f"  Segmenter trained: {new_segmenter}, passed its gate" in lines
    assert not any(line.lstrip().startswith("Serving") for line in lines)
    assert "BI snapshot: not published by this run (none published yet)" in lines


def test_after_a_crash_in_training_the_next_daily_serves_the_models_that_served(training_crash):
    warehouse, before, _, _, daily = training_crash
    assert daily.returncode == 0, daily.stdout[-4000:] + daily.stderr
    registry = read_table(warehouse, "select segment_model_id from segment_models")
    assert registry["segment_model_id"].tolist() == [before["serving"]["segment"]]
    ids = latest_ids(warehouse)
    assert ids["segments"] == ids["targets_segment"] == [before["serving"]["segment"]]
    assert ids["scores"] == ids["targets_propensity"] == [before["serving"]["propensity"]]
    assert_serving_invariants(warehouse)
    lines = summary_of(daily)
    assert COUNTS in lines
    assert f"BI snapshot: published to {publish_current(warehouse)} (docs/bi.md)" in lines


def test_a_crash_while_scoring_leaves_every_public_table_as_it_was(
    built_warehouse, tmp_path_factory
):
    warehouse = copy_of(built_warehouse, tmp_path_factory.mktemp("scoring_crash"))
    before = public_table_checksums(warehouse)
    # a new date, so a run in place would have added its features before the crash
    latest = read_table(warehouse, "select max(as_of_date) as d from propensity_scores")["d"][0]
    day = (latest - pd.Timedelta(days=1)).date().isoformat()
    crashed = run_cli("daily", warehouse, "--as-of-date", day, fault="score_blocks")
    assert crashed.returncode != 0
    assert "injected test fault in score_blocks" in crashed.stdout
    assert public_table_checksums(warehouse) == before
    assert "nothing it changed was kept" in crashed.stderr
    assert_serving_invariants(warehouse)


# ----------------------------------------- which runs are kept (no dbt run)
