"""Interrupted, repeated and concurrent runs leave the warehouse as one clean run would.

- A full build killed (SIGKILL, the whole process group) while a Python model
  trains publishes nothing (it ran on a working copy), and the rerun holds
  exactly what the session's uninterrupted build holds.
- A daily run killed while a Python model scores leaves every public table as
  it was; the rerun holds exactly what an uninterrupted daily run of that day
  holds. After each kill the public tables pass the consistency invariants
  (serving_invariants.py).
- While a daily run works, a second one (the CLI, or plain ``dbt build``) fails
  at once with a plain message and changes nothing; the first completes.
- The daily job twice for a date leaves every table identical; ten consecutive
  dates leave ten days of history, one row per customer per date.

"Exactly" means every row of every table in every schema, with one documented
exception: wall-clock fields. ``trained_at`` is dropped, and the training time
inside model ids and model JSON is masked (``prop_<time>_<hash>`` keeps its
hash, a function of the model text; a segmenter id's digest covers its training
time, so the whole id is masked and the model JSON is compared instead). Floats
are equal to 12 significant digits, also inside JSON text, because DuckDB's
parallel sums of doubles can differ in the last bits between any two runs. See
docs/operations.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dbt_helpers import (
    REPO_ROOT,
    archived_feature_dates,
    assert_dbt_ok,
    every_feature_date_sql,
    public_table_checksums,
    read_table,
)
from serving_invariants import assert_serving_invariants, serving_invariant_violations

from segment_and_predict.dbt.jobs import (
    Warehouse,
    daily_build,
    dbt_executable,
    full_build,
    working_copy_path,
)

CLI = [sys.executable, "-m", "segment_and_predict"]
MASKS = [
    # (regular expression, replacement) applied to every text value
    (r"\bprop_\d{8}T\d{6}Z_", "prop_<trained_at>_"),
    (r"\bseg_\d{8}T\d{6}Z_[0-9a-f]{8}", "seg_<trained_at>"),
    (r'"trained_at": ?"[^"]*"', '"trained_at": "<trained_at>"'),
]
WALL_CLOCK_COLUMNS = {"trained_at"}
# DuckDB sums doubles in parallel, so a float aggregate (e.g. a segment's mean
# spend) can differ in its last bits between any two runs on the same data.
FLOAT_RTOL = 1e-12


# ------------------------------------------------------------------ helpers


def masked(expression: str) -> str:
    """SQL that masks the wall-clock parts of a text expression."""
    for pattern, replacement in MASKS:
        expression = f"regexp_replace({expression}, '{pattern}', '{replacement}', 'g')"
    return expression


def warehouse_contents(warehouse: Warehouse, *, skip_staging_leftovers: bool = False):
    """Every base table of the warehouse as a DataFrame in a canonical row order."""
    contents = {}
    with duckdb.connect(str(warehouse.warehouse_path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by all"
        ).fetchall()
        for schema, table in tables:
            if skip_staging_leftovers and "__dbt_tmp" in table:
                continue
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            select = []
            for name, data_type in columns:
                if name in WALL_CLOCK_COLUMNS:
                    continue
                expression = masked(f'"{name}"') if data_type == "VARCHAR" else f'"{name}"'
                select.append(f'{expression} as "{name}"')
            query = f'select {", ".join(select)} from "{schema}"."{table}" order by all'
            contents[f"{schema}.{table}"] = with_json_floats_rounded(con.execute(query).df())
    return contents


def _round_floats(value):
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, list):
        return [_round_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _round_floats(v) for k, v in value.items()}
    return value


def with_json_floats_rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """JSON text columns (registry metrics, references) with floats at 12 significant
    digits, the same tolerance as float columns: a baseline refit on features whose
    parallel sums differ in the last bits gives metrics that differ there too."""
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            text = column.dropna().astype(str)
            if len(text) and text.str.match(r"^\s*[\[{]").all():
                with contextlib.suppress(json.JSONDecodeError):
                    frame[name] = column.map(
                        lambda v: (
                            v
                            if v is None or v != v
                            else json.dumps(_round_floats(json.loads(v)), sort_keys=True)
                        )
                    )
    return frame


def assert_same_contents(actual: dict, expected: dict) -> None:
    assert sorted(actual) == sorted(expected), "the warehouses hold different tables"
    for table in expected:
        pd.testing.assert_frame_equal(
            actual[table], expected[table], check_exact=False, rtol=FLOAT_RTOL, atol=0, obj=table
        )


def copy_warehouse(warehouse: Warehouse, target: Path) -> Warehouse:
    shutil.copy(warehouse.warehouse_path, target)
    return Warehouse(warehouse.project_dir, warehouse.raw_data_path, target)


class Run:
    """A CLI job in its own process group, its output read line by line as it comes."""

    def __init__(self, command: str, warehouse: Warehouse, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [
                *CLI,
                command,
                "--project-dir",
                str(warehouse.project_dir),
                "--raw-data-path",
                str(warehouse.raw_data_path),
                "--warehouse",
                str(warehouse.warehouse_path),
                *args,
            ],
            cwd=warehouse.project_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 300) -> None:
        """Block until a line of output contains ``pattern``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if pattern in line:
                return
        self.kill()
        pytest.fail(f"never saw {pattern!r}; output:\n{''.join(self.lines[-40:])}")

    def kill(self) -> None:
        """SIGKILL the whole process group: the CLI and the dbt process it started.

        Returns once every process of the group has exited (the dbt process is
        not our child, so it is watched through /proc), as after a real crash.
        """
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + 60
        while living_group_members(self.process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not living_group_members(self.process.pid)

    def finish(self, timeout: float = 600) -> int:
        code = self.process.wait(timeout=timeout)
        while (line := self._queue.get()) is not None:
            self.lines.append(line)
        return code


def _stat_fields(stat: Path) -> list[str]:
    try:
        return stat.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def living_group_members(group: int) -> list[int]:
    """Processes of a process group with a thread that has not finished exiting.

    A process's files (and so its DuckDB lock) are released when its last
    thread exits; its main thread can show as a zombie before that.
    """
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat_fields(stat)
        if not fields or int(fields[2]) != group:
            continue
        threads = (_stat_fields(t) for t in stat.parent.glob("task/*/stat"))
        if any(t and t[0] not in ("Z", "X") for t in threads):
            members.append(int(stat.parent.name))
    return members


def python_model_start(model: str) -> str:
    return f"START python incremental model main.{model} "


def table_names(warehouse: Warehouse) -> set[str]:
    tables = read_table(warehouse, "select table_name from information_schema.tables")
    return set(tables["table_name"])


# ------------------------------------------- a build killed while training


def test_a_build_killed_while_training_reruns_to_the_uninterrupted_result(
    built_warehouse, tmp_path
):
    warehouse = Warehouse(REPO_ROOT, built_warehouse.raw_data_path, tmp_path / "killed.duckdb")
    run = Run("build", warehouse)
    run.wait_for(python_model_start("segment_models"))
    time.sleep(1.0)  # inside the segmenter's training
    run.kill()
    assert run.process.returncode == -signal.SIGKILL

    # The build ran on a working copy of the warehouse, which replaces the
    # warehouse only when the run completes: a killed first build publishes
    # nothing (no warehouse at all), and the public tables are consistent.
    # The copy holds what the killed run had committed (the propensity model
    # trained before the kill, not the segmenter that was training) until the
    # next run removes it.
    assert public_table_checksums(warehouse) == {}
    assert_serving_invariants(warehouse)
    copy = Warehouse(REPO_ROOT, warehouse.raw_data_path, working_copy_path(warehouse))
    killed_tables = table_names(copy)
    assert len(read_table(copy, "select * from propensity_models")) == 1
    assert not killed_tables & {"segment_models", "propensity_scores", "customer_segments"}

    assert_dbt_ok(full_build(warehouse, capture=True))
    assert not copy.warehouse_path.exists()
    assert len(read_table(warehouse, "select * from propensity_models")) == 1
    assert_same_contents(warehouse_contents(warehouse), warehouse_contents(built_warehouse))
    assert_serving_invariants(warehouse)


# ----------------------------- daily runs: rerun, concurrent, killed, history


@pytest.fixture(scope="module")
def daily_runs(built_warehouse, tmp_path_factory):
    """Daily runs on a copy of the session's build, recording what each step left.

    1. the scoring date D, with a second CLI run and a plain ``dbt build``
       started while it works;  2. D again;  3. D-9, killed while scoring;
    4. D-9 rerun;  5. D-9 again;  6. D-8 .. D-1.
    """
    tmp = tmp_path_factory.mktemp("daily_runs")
    warehouse = copy_warehouse(built_warehouse, tmp / "daily.duckdb")
    scoring_date = read_table(built_warehouse, "select max(as_of_date) as d from propensity_scores")
    day = scoring_date["d"].iloc[0].date()
    days = [(day - dt.timedelta(days=n)).isoformat() for n in range(9, -1, -1)]
    out = {"days": days}

    # 1. D, with two more runs started while it holds the warehouse
    first = Run("daily", warehouse, "--as-of-date", days[-1])
    first.wait_for("START hook: segment_and_predict.on-run-start")
    out["first_pid"] = first.process.pid
    # Pause the first run while it holds the warehouse, so the two runs below
    # surely start while it runs (on a fast or a loaded machine alike).
    os.killpg(first.process.pid, signal.SIGSTOP)
    plain_dbt = subprocess.Popen(
        [
            dbt_executable(),
            "build",
            "--exclude",
            "tag:training",
            "--project-dir",
            str(REPO_ROOT),
            "--target-path",
            str(tmp / "plain_dbt_target"),
            "--vars",
            json.dumps({"raw_data_path": str(warehouse.raw_data_path)}),
        ],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "DBT_PROFILES_DIR": str(REPO_ROOT / "profiles"),
            "SAP_DUCKDB_PATH": str(warehouse.warehouse_path),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started = time.monotonic()
    second = subprocess.run(
        [*CLI, "daily", "--raw-data-path", str(warehouse.raw_data_path)],
        cwd=REPO_ROOT,
        env={**os.environ, "SAP_DUCKDB_PATH": str(warehouse.warehouse_path)},
        capture_output=True,
        text=True,
    )
    out["second_cli"] = second
    out["second_cli_seconds"] = time.monotonic() - started
    out["second_cli_ended_first"] = first.process.poll() is None
    out["plain_dbt_output"] = plain_dbt.communicate(timeout=600)[0]
    out["plain_dbt_code"] = plain_dbt.returncode
    out["plain_dbt_ended_first"] = first.process.poll() is None
    os.killpg(first.process.pid, signal.SIGCONT)
    out["first_code"] = first.finish()
    out["first_output"] = "".join(first.lines)
    out["after_first_run"] = warehouse_contents(warehouse)

    # 2. D again
    assert_dbt_ok(daily_build(warehouse, as_of_date=days[-1], capture=True))
    out["after_rerun"] = warehouse_contents(warehouse)

    # 3. D-9, killed while the propensity model scores
    out["before_kill"] = public_table_checksums(warehouse)
    killed = Run("daily", warehouse, "--as-of-date", days[0])
    killed.wait_for(python_model_start("propensity_scores"))
    killed.kill()
    out["killed_code"] = killed.process.returncode
    out["after_kill"] = public_table_checksums(warehouse)
    out["after_kill_violations"] = serving_invariant_violations(warehouse)
    copy = Warehouse(REPO_ROOT, warehouse.raw_data_path, working_copy_path(warehouse))
    out["killed_scored_days"] = read_table(
        copy, "select distinct as_of_date from propensity_scores"
    )["as_of_date"]
    out["killed_feature_days"] = read_table(
        copy, "select distinct as_of_date from customer_features"
    )["as_of_date"]

    # 4. D-9 rerun after the kill;  5. D-9 again, uninterrupted
    assert_dbt_ok(daily_build(warehouse, as_of_date=days[0], capture=True))
    out["after_kill_and_rerun"] = warehouse_contents(warehouse)
    assert_dbt_ok(daily_build(warehouse, as_of_date=days[0], capture=True))
    out["after_uninterrupted"] = warehouse_contents(warehouse)

    # 6. the days between
    for day in days[1:-1]:
        assert_dbt_ok(daily_build(warehouse, as_of_date=day, capture=True))
        assert_serving_invariants(warehouse)
    out["warehouse"] = warehouse
    return out


def test_a_second_run_fails_at_once_with_a_plain_message(daily_runs):
    second = daily_runs["second_cli"]
    assert second.returncode != 0
    assert daily_runs["second_cli_ended_first"], "the second run waited for the first"
    assert daily_runs["second_cli_seconds"] < 60
    message = second.stderr.strip()
    assert message.startswith("segment-and-predict daily: error: The warehouse "), message
    assert "is in use by another process (PID " in message
    assert f"(PID {daily_runs['first_pid']}: " in message  # who holds it
    assert "Wait for the other run to finish" in message
    assert "Traceback" not in second.stderr + second.stdout
    assert "Running with dbt" not in second.stdout  # dbt never started


def test_plain_dbt_started_meanwhile_fails_fast_too(daily_runs):
    assert daily_runs["plain_dbt_code"] != 0
    assert daily_runs["plain_dbt_ended_first"], "plain dbt waited for the first run"
    assert "Could not set lock on file" in daily_runs["plain_dbt_output"]


def test_the_first_run_completes_and_the_daily_job_twice_changes_nothing(daily_runs):
    assert daily_runs["first_code"] == 0, daily_runs["first_output"][-4000:]
    assert_same_contents(daily_runs["after_rerun"], daily_runs["after_first_run"])


def test_a_daily_run_killed_while_scoring_reruns_to_the_uninterrupted_result(daily_runs):
    day = pd.Timestamp(daily_runs["days"][0])
    assert daily_runs["killed_code"] == -signal.SIGKILL
    # killed after the day's features were committed to the run's working
    # copy, before its scores were; the warehouse itself did not change
    assert day in set(daily_runs["killed_feature_days"])
    assert day not in set(daily_runs["killed_scored_days"])
    assert daily_runs["after_kill"] == daily_runs["before_kill"]
    assert daily_runs["after_kill_violations"] == []
    assert_same_contents(daily_runs["after_kill_and_rerun"], daily_runs["after_uninterrupted"])


def test_ten_consecutive_days_leave_ten_days_of_history(daily_runs):
    warehouse = daily_runs["warehouse"]
    days = [pd.Timestamp(d) for d in daily_runs["days"]]
    assert len(days) == 10
    # the older days' features are in Parquet beside the warehouse (feature_history_days)
    archived = archived_feature_dates(warehouse)
    assert set(archived) & {d.date().isoformat() for d in days}, archived
    expected = read_table(
        warehouse,
        f"select as_of_date, count(*) as n from ({every_feature_date_sql(warehouse)}) "
        "group by 1 order by 1",
    ).set_index("as_of_date")["n"]
    for table in ("propensity_scores", "customer_segments"):
        history = read_table(
            warehouse,
            f"select as_of_date, count(*) as n, count(distinct customer_id) as customers "
            f"from {table} group by 1 order by 1",
        )
        assert history["as_of_date"].tolist() == days, table
        assert (history["n"] == history["customers"]).all(), f"{table}: duplicated customers"
        assert history["n"].tolist() == expected.loc[days].tolist(), table
    # and no run left a staging table behind
    assert not [t for t in table_names(warehouse) if "__dbt_tmp" in t]
