"""Running the dbt project: the full build, the daily build, and their settings.

The CLI (``segment-and-predict build`` / ``daily``), the scripts and the
integration tests all go through :func:`run_dbt`, so the profile location,
the warehouse path and the vars are set in one place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .history import HISTORY_DIR_ENV, history_dir_for
from .preflight import (
    PreflightError,
    missing_models_problem,
    raw_export_problems,
    warehouse_error_sentence,
    warehouse_file_problem,
)
from .project import unknown_vars_problem
from .publish import PUBLISH_DIR_ENV, publish_dir_for, quote_ident, quote_literal

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; DuckDB's own file lock still applies
    fcntl = None

DEFAULT_RAW_DATA_PATH = "data/raw"
DEFAULT_WAREHOUSE_PATH = "warehouse/segment_and_predict.duckdb"

# The daily job scores with the stored models; retraining is its own, rarer job.
TRAINING_SELECTOR = "tag:training"
# Staging tests of properties the row quarantine makes true by construction (a
# key is never null or repeated, ...): they test macros/quarantine.sql, not the
# day's data, so they run in the full build and in CI (tests/unit/
# test_daily_selection.py checks that each one is implied by a quarantine rule).
QUARANTINE_IMPLIED_SELECTOR = "tag:implied_by_quarantine"


class JobError(RuntimeError):
    """A dbt job failed; the message says which and where to look."""


class WarehouseBusyError(JobError):
    """Another process is using the warehouse; nothing was run or changed."""


@dataclass(frozen=True)
class Warehouse:
    """Where a run reads raw data from and writes its DuckDB warehouse to."""

    project_dir: Path
    raw_data_path: Path
    warehouse_path: Path

    @classmethod
    def from_paths(
        cls,
        project_dir: str | os.PathLike[str] = ".",
        raw_data_path: str | os.PathLike[str] = DEFAULT_RAW_DATA_PATH,
        warehouse_path: str | os.PathLike[str] | None = None,
    ) -> Warehouse:
        project = Path(project_dir).resolve()
        raw = Path(raw_data_path)
        warehouse = Path(
            warehouse_path or os.environ.get("SAP_DUCKDB_PATH") or DEFAULT_WAREHOUSE_PATH
        )
        return cls(
            project_dir=project,
            raw_data_path=raw if raw.is_absolute() else (project / raw),
            warehouse_path=warehouse if warehouse.is_absolute() else (project / warehouse),
        )


def parse_as_of_date(value: str) -> str:
    """Return ``value`` if it is 'default' or a real YYYY-MM-DD date, else raise ValueError."""
    if value == "default":
        return value
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.isoformat() != value:
        raise ValueError(
            f"as_of_date must be a date written YYYY-MM-DD (or 'default'); got {value!r}"
        )
    return value


def lock_path(warehouse: Warehouse) -> Path:
    """The file whose advisory lock a job holds while it runs dbt on this warehouse."""
    path = warehouse.warehouse_path
    return path.with_name(path.name + ".lock")


def _describe_process(pid: int) -> str:
    """'PID 123: dbt build ...' when /proc says what it runs, else 'PID 123'."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return f"PID {pid}"
    words = [Path(w).name if i == 0 else w for i, w in enumerate(raw.decode().split("\0")) if w]
    command = " ".join(" ".join(words).split())
    return f"PID {pid}: {command[:120]}" if command else f"PID {pid}"


def _busy(warehouse: Warehouse, holder: str) -> WarehouseBusyError:
    return WarehouseBusyError(
        f"The warehouse {warehouse.warehouse_path} is in use by another process ({holder}). "
        "DuckDB allows one writer at a time, so this run stopped before changing anything. "
        "Wait for the other run to finish, then run this again."
    )


def check_warehouse_is_free(warehouse: Warehouse) -> None:
    """Raise WarehouseBusyError when another process holds the DuckDB file open.

    DuckDB refuses a second writer with "Could not set lock on file"; this
    asks the same question before dbt starts, so the answer is one plain
    sentence rather than a traceback. Opening the file also replays the
    write-ahead log a killed run may have left, which is what DuckDB does on
    any reopen.
    """
    import duckdb

    if not warehouse.warehouse_path.exists():
        return
    if warehouse.warehouse_path.is_dir():
        raise JobError(
            f"The warehouse path {warehouse.warehouse_path} is a folder, not a DuckDB file. "
            "Give the path of a file (--warehouse or SAP_DUCKDB_PATH)."
        )
    try:
        duckdb.connect(str(warehouse.warehouse_path)).close()
    except duckdb.Error as exc:
        if "Could not set lock" not in str(exc):
            raise JobError(warehouse_error_sentence(warehouse.warehouse_path, str(exc))) from None
        pid = re.search(r"\(PID (\d+)\)", str(exc))
        raise _busy(
            warehouse, _describe_process(int(pid.group(1))) if pid else "see DuckDB: " + str(exc)
        ) from None


@contextmanager
def exclusive_warehouse(warehouse: Warehouse) -> Iterator[None]:
    """Hold this warehouse's job lock, or raise WarehouseBusyError at once.

    The lock (an advisory lock on ``<warehouse>.lock``, released by the kernel
    when this process ends, however it ends) covers the whole dbt run,
    including the seconds before dbt opens the DuckDB file, and the file
    records who holds it, for the message the next run prints.
    """
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown process"
                raise _busy(warehouse, holder) from None
        handle.seek(0)
        handle.truncate()
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        handle.write(f"{_describe_process(os.getpid())}, started {started}\n")
        handle.flush()
        try:
            check_warehouse_is_free(warehouse)
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()


def dbt_executable() -> str:
    """The dbt next to this Python (the project's virtual environment)."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


class JobResult(subprocess.CompletedProcess):
    """A dbt run's process result, and for a run on a working copy whether it was published.

    ``published`` is None for a run made in place, else True when the working
    copy replaced the warehouse and False when it was thrown away (the
    warehouse is exactly as it was before the run). ``gate_lines`` are the
    plain sentences of the failed quality-gate checks of the models in the
    warehouse after the run (model_gate_checks), empty when every gate passed.
    """

    published: bool | None = None
    gate_lines: tuple[str, ...] = ()


def working_copy_path(warehouse: Warehouse) -> Path:
    """The DuckDB file a job builds on before it replaces the warehouse with it."""
    path = warehouse.warehouse_path
    return path.with_name(path.name + ".run.duckdb")


def failed_copy_path(warehouse: Warehouse) -> Path:
    """Where the working copy of the last run that did not complete is kept, to inspect."""
    path = warehouse.warehouse_path
    return path.with_name(path.name + ".failed.duckdb")


def _file_state(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


# A job's working copy rewrites only the blocks in use (compact_copy) when at least
# this share of the warehouse file is free blocks and the file is at least this
# big; otherwise it copies the file byte for byte. DuckDB reuses free blocks but
# never gives them back: after a full build at 2.4M customers (its training
# snapshots moved to Parquet by the next job) the file is 5.4 GiB with 1.0 GiB in
# use, and every job copied all of it. Measured on the 2-core machine: the byte
# copy costs about 2.5 s per GiB of file (copy, first sync, unlink), compacting
# about 12 s per GiB in use, once: the daily job then leaves a file about 45%
# free (what it rewrites), so the share is set above that, or every day would
# compact again for nothing.
COMPACT_FREE_SHARE = 2 / 3
COMPACT_MIN_BYTES = 256 * 2**20


# The profile's DuckDB settings a user may set (profiles/profiles.yml); the
# compacting copy keeps to them too.
_DUCKDB_SETTINGS_ENV = {"memory_limit": "SAP_DUCKDB_MEMORY_LIMIT", "threads": "SAP_DUCKDB_THREADS"}


def compact_copy(original: Path, work: Path, env: Mapping[str, str] | None = None) -> bool:
    """Write the blocks in use of ``original`` to a new file ``work``, when most are free.

    Returns False, having written nothing, when the file is small or mostly in
    use, or when DuckDB could not do it (the byte copy then runs, and a damaged
    file is reported by dbt in its own words). ``COPY FROM DATABASE`` keeps every
    schema, table, view, type, comment and row (tests/unit/dbt/test_working_copy.py
    compares the catalogs and the data). The connection is closed at the end: it
    caches what it read (about 2 GiB at 2.4M customers), which the process would
    otherwise hold all through the dbt run. ``$SAP_DUCKDB_MEMORY_LIMIT`` and
    ``$SAP_DUCKDB_THREADS`` in ``env``, when set, bound it as they bound dbt's.
    """
    import duckdb

    if original.stat().st_size < COMPACT_MIN_BYTES:
        return False
    config = {
        setting: env[name]
        for setting, name in _DUCKDB_SETTINGS_ENV.items()
        if env and env.get(name)
    }
    try:
        with duckdb.connect(str(original), read_only=True, config=config) as con:
            con.execute("set enable_progress_bar = false")
            name, total, free = con.execute(
                "select database_name, total_blocks, free_blocks from pragma_database_size() "
                "where database_name = current_database()"
            ).fetchone()
            if free < COMPACT_FREE_SHARE * total:
                return False
            con.execute(f"attach {quote_literal(str(work))} as sap_working_copy (read_only false)")
            con.execute(f"copy from database {quote_ident(name)} to sap_working_copy")
            con.execute("detach sap_working_copy")
    except duckdb.Error:
        _remove_database(work)
        return False
    return True


def _remove_database(path: Path) -> None:
    for file in (path, path.with_name(path.name + ".wal")):
        file.unlink(missing_ok=True)


def dbt_target_dir(project_dir: Path, env: Mapping[str, str] | None = None) -> Path:
    """Where dbt writes run_results.json and the manifest: $DBT_TARGET_PATH when set
    (relative to the project, as dbt reads it), else the project's target/."""
    given = (os.environ if env is None else env).get("DBT_TARGET_PATH")
    if not given:
        return project_dir / "target"
    path = Path(given)
    return path if path.is_absolute() else project_dir / path


def _run_results(project_dir: Path, env: Mapping[str, str] | None = None) -> Path:
    return dbt_target_dir(project_dir, env) / "run_results.json"


def _invocation_id(path: Path) -> str | None:
    try:
        return json.loads(path.read_text())["metadata"]["invocation_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


# Statuses of a node that ran to its end: built, or a test that passed, warned
# or failed. A failed test is published (a failed quality gate, a drift alarm:
# the tables were all built and name the serving models); an error or a
# skipped node is not (something stopped halfway, so tables would disagree).
_COMPLETED_STATUSES = {"success", "pass", "warn", "fail", "no-op"}
# The BI snapshot (python_models/publishing/bi_snapshot.py) runs only when every
# public table and its tests passed; skipped after a failed test (a drift alarm),
# it leaves the readers on the previous day while the warehouse keeps the run's
# consistent tables (docs/bi.md, docs/operations.md).
_PUBLISH_NODE = "model.segment_and_predict.bi_snapshot"


def _waits_for_the_snapshot(unique_id: str) -> bool:
    """The BI snapshot, or an exposure (a declared reader, nothing built) that reads it."""
    return unique_id == _PUBLISH_NODE or unique_id.startswith("exposure.")


def run_completed(returncode: int, run_results: Path, previous_invocation: str | None) -> bool:
    """Whether a dbt build ran every selected node to its end, so its state is consistent.

    True when dbt exited 0, or exited 1 with a run_results.json of this
    invocation in which every node succeeded or is a test that failed (no
    error, nothing skipped but the BI snapshot). Anything else (a crash, a kill,
    a model error, a failing test that skipped its consumers, a stop in
    on-run-start) is False.
    """
    if returncode == 0:
        return True
    if returncode != 1:
        return False
    invocation = _invocation_id(run_results)
    if invocation is None or invocation == previous_invocation:
        return False
    results = json.loads(run_results.read_text()).get("results", [])
    return bool(results) and all(
        r.get("status") in _COMPLETED_STATUSES
        or (r.get("status") == "skipped" and _waits_for_the_snapshot(r.get("unique_id", "")))
        for r in results
    )


def failed_gate_lines(database: Path) -> tuple[str, ...]:
    """The plain sentences of the failed quality-gate checks in a warehouse file (read-only)."""
    import duckdb

    if not database.exists():
        return ()
    try:
        with duckdb.connect(str(database), read_only=True) as con:
            exists = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = 'main' and table_name = 'model_gate_checks'"
            ).fetchall()[0][0]
            if not exists:
                return ()
            rows = con.execute(
                "select message from main.model_gate_checks where not passed "
                "order by model_kind, check_order"
            ).fetchall()
    except duckdb.Error:
        return ()
    return tuple(str(r[0]) for r in rows)


def _checkpoint(database: Path) -> None:
    """Fold the write-ahead log into the file, so the rename moves one complete file."""
    import duckdb

    with duckdb.connect(str(database)) as con:
        con.execute("checkpoint")


# The vars that differ from one run to the next in real use (a dated export
# folder, a backfill date). dbt parses the whole project again whenever the
# command-line vars differ from the previous run's (4 s against 1 s at every size,
# docs/performance.md), so run_dbt hands these over in the environment, where the
# project reads them (macros/run_inputs.sql; a value given in --vars still wins).
RUN_INPUT_VARS = ("raw_data_path", "as_of_date")


def run_input_env(name: str) -> str:
    """The environment variable that carries the run input ``name`` (macros/run_inputs.sql)."""
    return f"SAP_{name.upper()}"


def dbt_environment(
    warehouse: Warehouse, extra_env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment dbt runs with for this warehouse (this process's, plus the project's)."""
    env = dict(os.environ)
    env.update(
        {
            "DBT_PROFILES_DIR": str(warehouse.project_dir / "profiles"),
            "SAP_DUCKDB_PATH": str(warehouse.warehouse_path),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )
    env.update(extra_env or {})
    # Where the bi_snapshot model publishes (docs/bi.md) and where customer_features'
    # older dates go (macros/feature_history.sql): beside this warehouse unless set.
    # Set here from the warehouse the user named, so a run on a working copy of it
    # (only SAP_DUCKDB_PATH changes) writes to the same place, and absolute, as the
    # run summary reads them, since dbt runs in the project folder.
    env[PUBLISH_DIR_ENV] = str(publish_dir_for(warehouse.warehouse_path, env))
    env[HISTORY_DIR_ENV] = str(history_dir_for(warehouse.warehouse_path, env))
    return env


def run_dbt(
    args: Sequence[str],
    warehouse: Warehouse,
    *,
    dbt_vars: Mapping[str, object] | None = None,
    capture: bool = False,
    extra_env: Mapping[str, str] | None = None,
    on_working_copy: bool = False,
) -> JobResult:
    """Run ``dbt <args>`` against the project with this warehouse and vars.

    Vars are passed as JSON (a valid YAML subset), so dates stay strings and
    are validated by the project's own macros; the run inputs (raw_data_path,
    as_of_date: :data:`RUN_INPUT_VARS`) go in the environment instead. Raises
    WarehouseBusyError, without running dbt, when another job or process is
    using the warehouse.

    With ``on_working_copy`` dbt builds a copy of the warehouse file
    (``<warehouse>.run.duckdb``), which replaces the warehouse by a rename
    only when the run completed (:func:`run_completed`); otherwise it is
    deleted and the warehouse is exactly as before. Meanwhile this process
    holds the warehouse open read-only, so other writers still fail at once
    while readers (BI, the report) keep reading it (docs/operations.md).
    """
    all_vars: dict[str, object] = {"raw_data_path": str(warehouse.raw_data_path)}
    all_vars.update(dbt_vars or {})
    warehouse.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    env = dbt_environment(warehouse, extra_env)
    # The vars that change from run to run reach dbt in the environment, so that
    # dbt keeps its partial parse (macros/run_inputs.sql); one not given here is
    # the project's default, whatever the caller's environment holds.
    for name in RUN_INPUT_VARS:
        env.pop(run_input_env(name), None)
        if name in all_vars:
            env[run_input_env(name)] = str(all_vars.pop(name))
    command = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(warehouse.project_dir),
        "--vars",
        json.dumps(all_vars),
    ]
    with exclusive_warehouse(warehouse):
        if not on_working_copy:
            done = subprocess.run(
                command,
                cwd=warehouse.project_dir,
                env=env,
                text=True,
                capture_output=capture,
                check=False,
            )
            return JobResult(done.args, done.returncode, done.stdout, done.stderr)
        return _run_on_working_copy(command, warehouse, env, capture)


def _run_on_working_copy(
    command: list[str], warehouse: Warehouse, env: dict[str, str], capture: bool
) -> JobResult:
    import duckdb

    original = warehouse.warehouse_path
    work = working_copy_path(warehouse)
    _remove_database(work)  # a copy a killed run left behind
    run_results = _run_results(warehouse.project_dir, env)
    previous_invocation = _invocation_id(run_results)
    hold = None
    if original.is_file():
        # Copy first (compacted when mostly free, else byte for byte), then
        # hold: closing any descriptor of a file drops every POSIX lock this
        # process has on it, so a copy made while holding would silently
        # release DuckDB's lock. A writer that slipped in between shows as a
        # changed file.
        state = _file_state(original)
        if not compact_copy(original, work, env):
            shutil.copyfile(original, work)
        # a file DuckDB cannot open (damaged): dbt reports it in its own words
        with contextlib.suppress(duckdb.Error):
            hold = duckdb.connect(str(original), read_only=True)
        if _file_state(original) != state:
            if hold is not None:
                hold.close()
            _remove_database(work)
            raise JobError(
                f"The warehouse {original} changed while this run copied it (another process "
                "wrote to it), so this run stopped before changing anything. Run this again."
            )
    try:
        done = subprocess.run(
            command,
            cwd=warehouse.project_dir,
            env={**env, "SAP_DUCKDB_PATH": str(work)},
            text=True,
            capture_output=capture,
            check=False,
        )
    finally:
        if hold is not None:
            hold.close()
    result = JobResult(done.args, done.returncode, done.stdout, done.stderr)
    result.published = work.exists() and run_completed(
        done.returncode, run_results, previous_invocation
    )
    if result.published:
        _checkpoint(work)
        os.replace(work, original)
        original.with_name(original.name + ".wal").unlink(missing_ok=True)
    elif work.exists():
        # kept for inspection (data_quality_issues, model_gate_checks, ...)
        # until the next failed run replaces it
        failed = failed_copy_path(warehouse)
        _remove_database(failed)
        try:
            _checkpoint(work)
            os.replace(work, failed)
        except (duckdb.Error, OSError):
            pass  # an unreadable copy (e.g. a full disk) is only deleted
    _remove_database(work)
    result.gate_lines = failed_gate_lines(original)
    return result


def parse_dbt_vars(text: str) -> dict[str, object]:
    """Vars given on the command line as a YAML/JSON mapping, e.g. '{propensity_gate_min_f1: 0.3}'.

    Raises ValueError with a plain message when the text is not a mapping; the
    values themselves are validated by the project, as with ``dbt --vars``.
    """
    import yaml

    try:
        parsed = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise ValueError(f"--vars is not valid YAML: {exc}") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"--vars must be a mapping like '{{name: value}}'; got {text!r}")
    return {str(k): v for k, v in parsed.items()}


def job_vars(as_of_date: str, dbt_vars: Mapping[str, object] | None) -> dict[str, object]:
    """The vars of a build: ``dbt_vars`` and the validated as_of_date.

    as_of_date and raw_data_path have their own arguments; a second value in
    ``dbt_vars`` would be ambiguous, so it raises ValueError (as does a
    malformed date).
    """
    for name, option in (("as_of_date", "--as-of-date"), ("raw_data_path", "--raw-data-path")):
        if dbt_vars and name in dbt_vars:
            raise ValueError(f"give {name} with {option}, not in the vars")
    return {**(dbt_vars or {}), "as_of_date": parse_as_of_date(as_of_date)}


def full_build(
    warehouse: Warehouse,
    *,
    as_of_date: str = "default",
    dbt_vars: Mapping[str, object] | None = None,
    **kwargs,
):
    """Seeds, every model including training, and every test, on a working copy."""
    kwargs.setdefault("on_working_copy", True)
    return run_dbt(["build"], warehouse, dbt_vars=job_vars(as_of_date, dbt_vars), **kwargs)


def daily_build(
    warehouse: Warehouse,
    *,
    as_of_date: str = "default",
    dbt_vars: Mapping[str, object] | None = None,
    full_refresh: bool = False,
    **kwargs,
):
    """Everything but retraining: features, scores, segments, marts and their data tests.

    dbt unit tests check the SQL logic on fixed inputs, and the staging tests
    tagged implied_by_quarantine check what the quarantine guarantees; neither
    tests the day's data, so they run in the full build and in CI, not every day.
    With ``full_refresh`` every selected model is rebuilt from the export alone
    (dbt's ``--full-refresh``: the history tables keep only this run's dates),
    with the serving models as they are: what a day's incremental run must equal
    (tests/integration/test_as_of_pipeline.py).
    """
    kwargs.setdefault("on_working_copy", True)
    return run_dbt(
        [
            "build",
            *(["--full-refresh"] if full_refresh else []),
            "--exclude",
            TRAINING_SELECTOR,
            QUARANTINE_IMPLIED_SELECTOR,
            "--exclude-resource-type",
            "unit_test",
        ],
        warehouse,
        dbt_vars=job_vars(as_of_date, dbt_vars),
        **kwargs,
    )


def check_job(
    command: str,
    project_dir: Path,
    raw_data_path: Path,
    warehouse_path: Path,
    dbt_vars: Mapping[str, object],
) -> None:
    """Raise PreflightError naming every problem found before a build or daily job.

    For the daily job, also checks (under the job lock) that the warehouse
    holds trained models; a busy warehouse raises WarehouseBusyError.
    """
    problems = []
    unknown = unknown_vars_problem(dbt_vars, project_dir)
    if unknown:
        problems.append(unknown)
    file_problem = warehouse_file_problem(warehouse_path, writing=True)
    if file_problem:
        problems.append(file_problem)
    elif command == "daily":
        if warehouse_path.exists():
            with exclusive_warehouse(Warehouse(project_dir, raw_data_path, warehouse_path)):
                models = missing_models_problem(warehouse_path)
        else:
            models = missing_models_problem(warehouse_path)
        if models:
            problems.append(models)
    raw_problems = raw_export_problems(raw_data_path)
    if raw_problems:
        problems.append(
            "The raw export does not fit the contract; nothing was built:\n"
            + "\n".join(raw_problems)
        )
    if problems:
        raise PreflightError("\n".join(problems))
