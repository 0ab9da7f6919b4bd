"""Checks the CLI makes before dbt starts, each answered with one plain sentence.

dbt would find most of these problems too, but late and in its own words (a
DuckDB IO error and a traceback, ``Catalog Error: Table with name
segment_models does not exist!``, a usage error about ``--profiles-dir``). The
checks use the same owners as the build: the project's vars
(:mod:`segment_and_predict.dbt.project`), the raw file lists and structural checks
(:mod:`segment_and_predict.data.raw_checks`), so the CLI and ``dbt build`` refuse
the same inputs. The dbt run still checks everything itself at run start
(``validate_vars``, ``check_raw_export``) for users who call dbt directly.
"""

from __future__ import annotations

import os
from pathlib import Path

from segment_and_predict.data.contract import TABLES
from segment_and_predict.data.raw_checks import raw_table_problem
from segment_and_predict.data.raw_files import raw_table_files

CONTRACT_DOC = "docs/raw_data_contract.md"
# Every DuckDB database file has these bytes at offset 8 (its storage header).
DUCKDB_MAGIC = b"DUCK"
DUCKDB_MAGIC_START, DUCKDB_MAGIC_END = 8, 12
# Tables the daily job reads its stored models from (serving_models is written
# by a build only: a warehouse built before it existed needs one build).
MODEL_REGISTRIES = ("segment_models", "propensity_models", "serving_models")


class PreflightError(RuntimeError):
    """A problem the user can fix, found before anything ran; the message says what to do."""


def raw_export_problems(raw_data_path: str | os.PathLike[str]) -> list[str]:
    """What check_raw_export (on-run-start) would refuse in this raw folder, as sentences."""
    folder = str(raw_data_path)
    located = {t.name: raw_table_files(folder, t.name) for t in TABLES}
    if not any(found.exists for found in located.values()):
        return [
            f"No raw data: the folder '{folder}' (--raw-data-path) does not exist or holds "
            f"none of the contract's tables. Generate the default data with `segment-and-predict "
            f"generate --out {folder}`, or give the folder of your export ({CONTRACT_DOC})."
        ]
    problems = []
    for table in TABLES:
        if located[table.name].exists:
            problem = raw_table_problem(table.name, folder)
            if problem:
                problems.append(problem)
        elif table.required:
            problems.append(
                f"Raw table '{table.name}' is required but {located[table.name].location} "
                f"was not found ({CONTRACT_DOC})."
            )
    return problems


def warehouse_file_problem(path: Path, *, writing: bool) -> str | None:
    """Why the warehouse file at ``path`` cannot be used, or None.

    A missing file is fine for a build (dbt creates it), not for a reader.
    The file is not opened as a database here: a DuckDB connection, even a
    read-only one, would lock out a job that starts at that moment. A file
    another process holds is reported by the job lock, with the holder's name.
    """
    if path.is_dir():
        return (
            f"The warehouse path {path} is a folder, not a DuckDB file. Give the path of a "
            f"file (--warehouse or SAP_DUCKDB_PATH), e.g. {path / 'segment_and_predict.duckdb'}."
        )
    if not path.exists():
        if not writing:
            return (
                f"No warehouse at {path}. Build one first (`segment-and-predict build`) or give "
                f"--warehouse / set SAP_DUCKDB_PATH."
            )
        parent = next((p for p in path.parents if p.exists()), None)
        if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
            return (
                f"The warehouse {path} cannot be created: the folder {parent} is not writable "
                f"by this user. Choose another --warehouse or fix the folder's permissions."
            )
        return None
    if writing and not os.access(path, os.W_OK):
        return (
            f"The warehouse {path} is read-only for this user, so the build cannot write "
            f"it. Make it writable (chmod u+w) or build into another --warehouse."
        )
    try:
        with open(path, "rb") as handle:
            header = handle.read(DUCKDB_MAGIC_END)
    except OSError as exc:
        return warehouse_error_sentence(path, f"{exc.strerror}")
    if header[DUCKDB_MAGIC_START:DUCKDB_MAGIC_END] != DUCKDB_MAGIC:
        return warehouse_error_sentence(path, "not a valid DuckDB database file")
    return None


def warehouse_error_sentence(path: Path, duckdb_message: str) -> str:
    """A DuckDB error on opening the warehouse, as a sentence saying what to do."""
    reason = duckdb_message.strip().splitlines()[0] if duckdb_message.strip() else "unknown"
    reason = reason.rstrip("!.")
    if "not a valid DuckDB database file" in reason or "Corrupt" in reason:
        return (
            f"The warehouse {path} is not a readable DuckDB database (damaged, or another kind "
            f"of file): {reason}. Restore it from a backup, or move it away and run "
            f"`segment-and-predict build` to create a new one."
        )
    if "Permission denied" in reason or "Read-only file system" in reason:
        return (
            f"The warehouse {path} cannot be opened for writing ({reason}). Make it writable "
            f"or build into another --warehouse."
        )
    return f"The warehouse {path} cannot be opened: {reason}."


def missing_models_problem(path: Path) -> str | None:
    """For the daily job: a sentence when the warehouse holds no trained models yet.

    Opens the warehouse read-only: call it while holding the job lock
    (jobs.exclusive_warehouse), so no job of ours is starting meanwhile.
    """
    import duckdb

    if not path.exists():
        return (
            f"The daily job scores with stored models, but there is no warehouse at {path} "
            f"yet. Run `segment-and-predict build` first (it trains both models), then daily."
        )
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            found = {
                row[0]
                for row in con.execute(
                    "select table_name from information_schema.tables where table_schema = 'main'"
                ).fetchall()
            }
    except duckdb.Error:
        return None  # busy or damaged: reported by the lock or the file check
    missing = [name for name in MODEL_REGISTRIES if name not in found]
    if not missing:
        return None
    return (
        f"The daily job scores with stored models, but the warehouse {path} has no "
        f"{' or '.join(missing)} table yet. Run `segment-and-predict build` first (it trains "
        f"both models and records which serve; a warehouse built by an earlier version needs "
        f"it once too), then daily."
    )
