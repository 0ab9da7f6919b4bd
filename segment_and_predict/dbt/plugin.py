"""dbt-duckdb plugin: SQL functions the project's macros call.

Registered in ``profiles/profiles.yml`` (``plugins: - module: ...``), so every
connection dbt opens has them:

- ``raw_table_files(raw_data_path, table)``: the files holding a raw table, as
  JSON (:func:`segment_and_predict.data.raw_files.raw_table_files_json`); the one
  file list that every read and check of the table uses.
- ``raw_table_problem(table, raw_data_path)``: NULL when the table's Parquet
  file(s) fit the contract's structure, otherwise the sentence(s) saying what
  is wrong (:func:`segment_and_predict.data.raw_checks.raw_table_problem`). SQL
  alone cannot do this: DuckDB's reader raises on a corrupt file, and a macro
  cannot catch that to say which table it was and what to do.
- ``unknown_vars_problem(vars_json, project_dir)``: NULL when every var given
  on the command line is one of dbt_project.yml's, otherwise a sentence with
  the closest known name (:mod:`segment_and_predict.dbt.project`).
- ``make_folder(path)``: creates the folder (and its parents) and returns the
  path; DuckDB's COPY writes a file only into a folder that exists
  (macros/feature_history.sql).
"""

from __future__ import annotations

import os

from dbt.adapters.duckdb.plugins import BasePlugin

from segment_and_predict.data.raw_checks import raw_table_problem
from segment_and_predict.data.raw_files import raw_table_files_json
from segment_and_predict.dbt.project import unknown_vars_problem_json


def make_folder(path: str) -> str:
    os.makedirs(path, exist_ok=True)
    return path


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        conn.create_function(
            "raw_table_problem",
            raw_table_problem,
            ["VARCHAR", "VARCHAR"],
            "VARCHAR",
            null_handling="special",
            side_effects=True,
        )
        conn.create_function(
            "raw_table_files",
            raw_table_files_json,
            ["VARCHAR", "VARCHAR"],
            "VARCHAR",
            side_effects=True,
        )
        conn.create_function(
            "unknown_vars_problem",
            unknown_vars_problem_json,
            ["VARCHAR", "VARCHAR"],
            "VARCHAR",
            null_handling="special",
            side_effects=True,
        )
        conn.create_function(
            "make_folder",
            make_folder,
            ["VARCHAR"],
            "VARCHAR",
            side_effects=True,
        )
