"""The command line's own behaviour before any dbt run: refusals and mistyped commands.

Unit layer: nothing here starts dbt (the refusals are checked to start no
process at all), so these run in `scripts/test.sh --fast`.
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
