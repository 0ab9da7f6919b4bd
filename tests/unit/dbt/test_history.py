"""Where customer_features' older dates go (segment_and_predict.dbt.history)."""

from __future__ import annotations

from pathlib import Path

from segment_and_predict.dbt.history import HISTORY_DIR_ENV, default_history_dir, history_dir_for
from segment_and_predict.dbt.jobs import Warehouse, dbt_environment
from segment_and_predict.dbt.publish import PUBLISH_DIR_ENV, publish_dir_for


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


def test_a_relative_folder_is_the_same_for_dbt_and_for_the_summary(tmp_path, monkeypatch):
    # dbt runs in the project folder, the summary in the user's: a relative
    # $SAP_HISTORY_DIR / $SAP_PUBLISH_DIR is read from the user's folder by both.
    project = Path(__file__).resolve().parents[3]
    user_folder = tmp_path / "me"
    user_folder.mkdir()
    monkeypatch.chdir(user_folder)
    monkeypatch.setenv(HISTORY_DIR_ENV, "hist")
    monkeypatch.setenv(PUBLISH_DIR_ENV, "out/bi")
    warehouse = Warehouse.from_paths(project, tmp_path, tmp_path / "wh.duckdb")
    env = dbt_environment(warehouse)
    assert env[HISTORY_DIR_ENV] == str(user_folder / "hist")
    assert env[PUBLISH_DIR_ENV] == str(user_folder / "out" / "bi")
    assert history_dir_for(warehouse.warehouse_path) == user_folder / "hist"
    assert publish_dir_for(warehouse.warehouse_path) == user_folder / "out" / "bi"
