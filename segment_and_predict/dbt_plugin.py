"""dbt-duckdb plugin: SQL functions the project's macros call.

Registered in ``profiles/profiles.yml`` (``plugins: - module: ...``), so every
connection dbt opens has them:

- ``raw_table_problem(table, path)``: NULL when the raw Parquet file fits the
  contract's structure, otherwise the sentence(s) saying what is wrong
  (:func:`segment_and_predict.raw_checks.raw_table_problem`). SQL alone cannot
  do this: DuckDB's reader raises on a corrupt file, and a macro cannot catch
  that to say which table it was and what to do.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from segment_and_predict.raw_checks import raw_table_problem


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
