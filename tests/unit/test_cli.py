"""The command line's own behaviour around the dbt run: refusals, mistyped commands,
and the summary printed at the end of build and daily.

Unit layer: nothing here starts dbt (the refusals are checked to start no
process at all; for the summary the job is replaced by one that writes a
hand-built warehouse), so these run in `scripts/test.sh --fast`. The summary of
real builds is checked in test_hostile_runs.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from segment_and_predict.cli import main

# main() in a fresh interpreter, with every process it starts recorded (dbt runs
# as a subprocess): its exit code and the processes it started
PROBE = """
import json, subprocess, sys
started = []
class RecordingPopen(subprocess.Popen):
    def __init__(self, args, *more, **options):
        started.append(args)
        super().__init__(args, *more, **options)
subprocess.Popen = RecordingPopen
from segment_and_predict.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "processes": [str(a) for a in started]}))
"""


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*"))


@pytest.mark.parametrize("raw", ["missing", "empty", "other_files"])
@pytest.mark.parametrize("command", ["build", "daily"])
def test_a_missing_or_empty_raw_folder_is_refused_before_dbt_starts(tmp_path, raw, command):
    import json

    work = tmp_path / "work"
    work.mkdir()
    raw_folder = work / "raw"
    if raw != "missing":
        raw_folder.mkdir()
    if raw == "other_files":
        (raw_folder / "notes.txt").write_text("not an export")
    before = files_under(work)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            command,
            "--raw-data-path",
            str(raw_folder),
            "--warehouse",
            str(work / "warehouse" / "w.duckdb"),
        ],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome == {"code": 2, "processes": []}, done.stderr
    assert f"No raw data: the folder '{raw_folder}' (--raw-data-path)" in done.stderr
    assert "Traceback" not in done.stderr
    assert files_under(work) == before  # no warehouse folder, lock, target/ or logs/


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("biuld", "'build'"),
        ("dayly", "'daily'"),
        ("reprot", "'report'"),
        ("backtets", "'backtest'"),
    ],
)
def test_a_mistyped_command_gets_the_closest_one(typed, suggested, capsys):
    assert main([typed, "--vars", "{}"]) == 2
    err = capsys.readouterr().err
    assert f"unknown command '{typed}'. Did you mean {suggested}?" in err
    assert "Commands: generate, build, daily" in err


def test_an_unknown_command_with_no_close_one_lists_the_commands(capsys):
    assert main(["xyz"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'xyz'. Commands: " in err
    assert "Did you mean" not in err


def test_options_before_the_command_are_left_to_argparse(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert "segment-and-predict" in capsys.readouterr().out


# ------------------------------------------- the summary after build and daily


@pytest.fixture
def fake_job(tmp_path, monkeypatch):
    """build/daily with dbt replaced: the job writes a hand-built warehouse (summary_warehouse)
    and this run's run_results.json, prints a line as dbt would, and returns ``outcome``."""
    import datetime as dt
    import json

    from summary_warehouse import make_warehouse

    import segment_and_predict.dbt.jobs as jobs
    from segment_and_predict.dbt.run_summary import BI_SNAPSHOT_NODE

    target = tmp_path / "target"
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    monkeypatch.delenv("SAP_PUBLISH_DIR", raising=False)
    # the refusals before dbt (tested above) would refuse the fake raw folder
    monkeypatch.setattr(jobs, "check_job", lambda *args, **kwargs: None)
    outcome = {
        "returncode": 0,
        "published": True,
        "leave_copy": True,  # a run that was not published keeps its copy
        "statuses": {BI_SNAPSHOT_NODE: "success"},
    }

    def job(warehouse, *, as_of_date, dbt_vars):
        print("dbt: Done. PASS=3", flush=True)
        database = (
            warehouse.warehouse_path if outcome["published"] else jobs.failed_copy_path(warehouse)
        )
        if outcome["published"] or outcome["leave_copy"]:
            jobs._remove_database(database)
            make_warehouse(database, trained_at=dt.datetime.now(dt.UTC))
        target.mkdir(exist_ok=True)
        results = [{"unique_id": u, "status": s} for u, s in outcome["statuses"].items()]
        (target / "run_results.json").write_text(json.dumps({"results": results}))
        result = jobs.JobResult(["dbt", "build"], outcome["returncode"], None, None)
        result.published = outcome["published"]
        return result

    monkeypatch.setattr(jobs, "full_build", job)
    monkeypatch.setattr(jobs, "daily_build", job)
    return outcome


def run_job(command: str, tmp_path: Path, capsys) -> tuple[int, str, str]:
    code = main(
        [
            command,
            "--project-dir",
            str(Path(__file__).resolve().parents[2]),
            "--raw-data-path",
            str(tmp_path / "raw"),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
        ]
    )
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", ["build", "daily"])
def test_build_and_daily_end_with_the_summary_on_stdout(fake_job, tmp_path, capsys, command):
    from summary_warehouse import NEW_PROPENSITY, NEW_SEGMENTER

    code, out, _ = run_job(command, tmp_path, capsys)
    assert code == 0
    dbt_output, summary = out.split("Summary of this ", 1)
    assert dbt_output == "dbt: Done. PASS=3\n"  # the summary comes after dbt's output
    lines = summary.splitlines()
    assert lines[0] == ("build:" if command == "build" else "daily run (no retraining):")
    assert (
        f"Result: completed; the public tables in {tmp_path / 'w.duckdb'} are this run's" in lines
    )
    assert "Customers scored (propensity_scores): 3; segmented (customer_segments): 3" in lines
    if command == "build":  # trained after the run started: the job's start time is passed
        assert f"Propensity model trained: {NEW_PROPENSITY}, passed its gate" in lines
        assert f"Serving segmenter: {NEW_SEGMENTER} (new)" in lines
    else:
        assert not any("trained:" in line for line in lines)
        assert any(
            line.startswith(f"Serving segmenter: {NEW_SEGMENTER} (trained ") for line in lines
        )
    assert f"BI snapshot: published to {tmp_path / 'w_bi' / 'current'} (docs/bi.md)" in lines
    assert lines[-1] == (
        f"Report: segment-and-predict report --warehouse {tmp_path / 'w.duckdb'} "
        "(writes reports/report.html)"
    )
    assert len(lines) <= 15


def test_a_failed_run_summarises_its_own_kept_copy_not_an_older_one(fake_job, tmp_path, capsys):
    import os
    import time

    fake_job.update(
        returncode=1,
        published=False,
        statuses={"model.segment_and_predict.propensity_models": "error"},
    )
    code, out, err = run_job("build", tmp_path, capsys)
    failed_copy = tmp_path / "w.duckdb.failed.duckdb"
    assert code == 1
    assert "nothing it changed was kept" in err
    assert "Result: FAILED (exit 1: propensity_models (error))" in out
    assert f"What the run built, not kept (in {failed_copy}):" in out
    assert "BI snapshot: not published by this run (none published yet)" in out

    # a run that stopped before dbt built anything leaves no copy; the one an
    # earlier failed run left is not this run's and is not summarised as if it were
    os.utime(failed_copy, (time.time() - 3600,) * 2)
    fake_job["leave_copy"] = False
    code, out, _ = run_job("build", tmp_path, capsys)
    assert code == 1
    assert "What the run built was not kept (it left no copy to inspect)" in out
    assert "What the run built, not kept" not in out


def test_building_the_parser_loads_no_model_or_chart_library():
    """Every command builds the whole parser first; the daily job's start-up pays for
    what that imports (the report package once cost 1.3 s of matplotlib and
    scikit-learn before dbt started, issue 20)."""
    probe = (
        "import sys\n"
        "from segment_and_predict.cli import build_parser\n"
        "build_parser()\n"
        "print(sorted(m for m in ('matplotlib', 'sklearn', 'lightgbm', 'pandas', 'scipy', 'jinja2')"
        " if m in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
