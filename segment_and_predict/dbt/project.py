"""Where the dbt project is, and which vars it knows.

The list of vars is ``dbt_project.yml``'s ``vars:`` (their one owner): a var
given on the command line that is not in it is a typo or a var of another
version, and silently keeping the default would run with a gate, date or path
the user did not ask for. Both the CLI (before dbt starts) and the dbt run
itself (``validate_vars``, on-run-start, through the SQL function
``unknown_vars_problem`` of :mod:`segment_and_predict.dbt.plugin`) refuse it,
naming the closest known var.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path

import yaml

PROJECT_FILE = "dbt_project.yml"
PROJECT_NAME = "segment_and_predict"


class ProjectNotFoundError(RuntimeError):
    """No segment-and-predict dbt project where one was expected."""


def _is_project(folder: Path) -> bool:
    try:
        text = (folder / PROJECT_FILE).read_text(encoding="utf-8")
    except OSError:
        return False
    try:
        return (yaml.safe_load(text) or {}).get("name") == PROJECT_NAME
    except yaml.YAMLError:
        return False


def find_project_dir(given: str | os.PathLike[str] | None = None) -> Path:
    """The project folder: ``given``, else the current folder if it is the project,
    else the folder this package was installed from (so cron, which starts in
    another folder, still finds it). Raises ProjectNotFoundError with a sentence.
    """
    if given is not None:
        folder = Path(given).resolve()
        if not _is_project(folder):
            raise ProjectNotFoundError(
                f"The folder {folder} (--project-dir) is not the segment-and-predict project: "
                f"it has no {PROJECT_FILE} named {PROJECT_NAME}. Give the folder that holds "
                f"{PROJECT_FILE}."
            )
        return folder
    for folder in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if _is_project(folder):
            return folder
    raise ProjectNotFoundError(
        f"Could not find the segment-and-predict project: neither the current folder "
        f"{Path.cwd()} nor the package's folder holds its {PROJECT_FILE}. Run from the project "
        f"folder or give --project-dir."
    )


def project_vars(project_dir: str | os.PathLike[str]) -> dict:
    """The ``vars:`` mapping of the project's dbt_project.yml (their defaults)."""
    text = (Path(project_dir) / PROJECT_FILE).read_text(encoding="utf-8")
    return dict((yaml.safe_load(text) or {}).get("vars") or {})


def known_vars(project_dir: str | os.PathLike[str]) -> list[str]:
    """The names under ``vars:`` in the project's dbt_project.yml."""
    return sorted(project_vars(project_dir))


def unknown_vars_problem(given: Iterable[str], project_dir: str | os.PathLike[str]) -> str | None:
    """A sentence naming each var in ``given`` that the project does not know, or None."""
    known = known_vars(project_dir)
    unknown = sorted(set(given) - set(known))
    if not unknown:
        return None
    described = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        described.append(f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    return (
        f"Unknown var{'s' if len(unknown) > 1 else ''} {', '.join(described)}: "
        f"the project knows only the vars listed in {PROJECT_FILE} under vars:, so "
        f"{'these would be' if len(unknown) > 1 else 'this would be'} ignored and the default "
        f"used. Nothing was run; correct the name and run again."
    )


def unknown_vars_problem_json(vars_text: str | None, project_dir: str | None) -> str | None:
    """:func:`unknown_vars_problem` for dbt's command-line vars (JSON or YAML text)."""
    if not vars_text:
        return None
    parsed = yaml.safe_load(vars_text)  # JSON is YAML; dbt may hand over either
    if isinstance(parsed, str):
        parsed = yaml.safe_load(parsed)
    if not isinstance(parsed, dict):
        return None
    return unknown_vars_problem(map(str, parsed), project_dir or Path.cwd())
