"""Where customer_features' older dates go (segment_and_predict.dbt.history)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from segment_and_predict.dbt import jobs
from segment_and_predict.dbt.history import HISTORY_DIR_ENV, default_history_dir
from segment_and_predict.dbt.jobs import Warehouse


def test_the_history_folder_is_beside_the_warehouse(tmp_path):
    assert default_history_dir(tmp_path / "wh.duckdb") == tmp_path / "wh_history"
    assert default_history_dir(tmp_path / "wh.db") == tmp_path / "wh.db_history"


def test_a_job_on_a_working_copy_writes_history_beside_the_warehouse_the_user_named(
    tmp_path, monkeypatch
):
    # dbt opens <warehouse>.run.duckdb; the macro's own default would put the
    # history beside that copy, so the CLI names the folder of the real file.
    monkeypatch.delenv(HISTORY_DIR_ENV, raising=False)
    seen = {}

    def fake_run(command, *, env, **kwargs):
        seen.update(env)
        return subprocess.CompletedProcess(command, 2, "", "")

    monkeypatch.setattr(jobs.subprocess, "run", fake_run)
    project = Path(__file__).resolve().parents[3]
    warehouse = Warehouse.from_paths(project, tmp_path, tmp_path / "wh.duckdb")
    jobs.run_dbt(["build"], warehouse, capture=True, on_working_copy=True)
    assert seen["SAP_DUCKDB_PATH"] != str(tmp_path / "wh.duckdb")
    assert seen[HISTORY_DIR_ENV] == str(tmp_path / "wh_history")
