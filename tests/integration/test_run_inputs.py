"""The run inputs reach dbt in the environment, so a new export folder or date keeps its parse.

A daily job whose export lands in a new, dated folder each day (or a backfill run for
another date) used to hand dbt other --vars each time, and dbt parses the whole project
again whenever those differ from the previous run's (4 s against 1 s). raw_data_path and
as_of_date now go in the environment (jobs.RUN_INPUT_VARS, macros/run_inputs.sql); these
tests hold each run to its own inputs, the partial parse kept, and --vars first.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from dbt_helpers import REPO_ROOT, assert_dbt_ok

from segment_and_predict.dbt.jobs import (
    Warehouse,
    dbt_environment,
    dbt_executable,
    run_dbt,
    run_input_env,
)

FULL_PARSE = "Unable to do partial parsing"
MODELS = ("stg_orders", "int_snapshot_dates")


def _compile(warehouse: Warehouse, target: Path, dbt_vars: dict) -> str:
    result = run_dbt(
        ["compile", "--select", *MODELS],
        warehouse,
        dbt_vars=dbt_vars,
        capture=True,
        extra_env={"DBT_TARGET_PATH": str(target)},
    )
    assert_dbt_ok(result)
    return result.stdout


def _compiled(target: Path, model: str) -> str:
    (path,) = (target / "compiled").rglob(f"{model}.sql")
    return path.read_text()


def test_a_new_export_folder_and_date_keep_the_partial_parse(small_raw_data, tmp_path):
    target = tmp_path / "target"
    other_folder = tmp_path / "export_2026-12-07"
    shutil.copytree(small_raw_data, other_folder)
    warehouse = Warehouse.from_paths(REPO_ROOT, small_raw_data, tmp_path / "wh.duckdb")

    _compile(warehouse, target, {"as_of_date": "2026-01-05"})
    assert str(small_raw_data) in _compiled(target, "stg_orders")
    assert "date '2026-01-05'" in _compiled(target, "int_snapshot_dates")

    moved = Warehouse(warehouse.project_dir, other_folder, warehouse.warehouse_path)
    second = _compile(moved, target, {"as_of_date": "2026-01-06"})
    assert FULL_PARSE not in second, second[-3000:]
    assert str(other_folder) in _compiled(target, "stg_orders")
    assert str(small_raw_data) not in _compiled(target, "stg_orders")
    assert "date '2026-01-06'" in _compiled(target, "int_snapshot_dates")


def test_vars_given_to_dbt_come_before_the_environment(small_raw_data, tmp_path):
    # plain `dbt build --vars '{raw_data_path: ...}'`, with the environment naming
    # another folder and date: the --vars are the run's
    target = tmp_path / "target"
    other_folder = tmp_path / "export_given"
    shutil.copytree(small_raw_data, other_folder)
    warehouse = Warehouse.from_paths(REPO_ROOT, small_raw_data, tmp_path / "wh.duckdb")
    env = {
        **dbt_environment(warehouse),
        "DBT_TARGET_PATH": str(target),
        run_input_env("raw_data_path"): str(small_raw_data),
        run_input_env("as_of_date"): "2026-01-05",
    }
    done = subprocess.run(
        [
            dbt_executable(),
            "compile",
            "--select",
            *MODELS,
            "--vars",
            f'{{raw_data_path: "{other_folder}", as_of_date: "2026-01-09"}}',
        ],
        cwd=REPO_ROOT,
        env=env,
        text=True,
        capture_output=True,
        check=False,
    )
    assert_dbt_ok(done)
    assert str(other_folder) in _compiled(target, "stg_orders")
    assert "date '2026-01-09'" in _compiled(target, "int_snapshot_dates")


def test_a_run_is_not_steered_by_inputs_left_in_the_callers_environment(
    small_raw_data, tmp_path, monkeypatch
):
    # run_dbt's own arguments decide: a date left in the shell that started the job
    # (here one the project would refuse) plays no part when the job names none
    monkeypatch.setenv(run_input_env("as_of_date"), "not-a-date")
    target = tmp_path / "target"
    warehouse = Warehouse.from_paths(REPO_ROOT, small_raw_data, tmp_path / "wh.duckdb")
    _compile(warehouse, target, {})
    # the default: the day after the last event
    assert "cast(max(last_event_at) as date) + 1 as scoring_as_of_date" in _compiled(
        target, "int_snapshot_dates"
    )
