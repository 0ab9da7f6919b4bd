"""Where customer_features' older dates go (segment_and_predict.dbt.history)."""

from __future__ import annotations

from pathlib import Path

from segment_and_predict.dbt.history import HISTORY_DIR_ENV, default_history_dir
from segment_and_predict.dbt.jobs import Warehouse, dbt_environment


def test_the_history_folder_is_beside_the_warehouse(tmp_path):
    assert default_history_dir(tmp_path / "wh.duckdb") == tmp_path / "wh_history"
    assert default_history_dir(tmp_path / "wh.db") == tmp_path / "wh.db_history"


def test_dbt_writes_history_beside_the_warehouse_the_user_named(tmp_path, monkeypatch):
    # A job runs dbt on <warehouse>.run.duckdb (only SAP_DUCKDB_PATH changes); the
    # macro's own default would put the history beside that copy, so the job names
    # the folder of the real file.
    monkeypatch.delenv(HISTORY_DIR_ENV, raising=False)
    project = Path(__file__).resolve().parents[3]
    warehouse = Warehouse.from_paths(project, tmp_path, tmp_path / "wh.duckdb")
    assert dbt_environment(warehouse)[HISTORY_DIR_ENV] == str(tmp_path / "wh_history")
    monkeypatch.setenv(HISTORY_DIR_ENV, str(tmp_path / "elsewhere"))
    assert dbt_environment(warehouse)[HISTORY_DIR_ENV] == str(tmp_path / "elsewhere")
