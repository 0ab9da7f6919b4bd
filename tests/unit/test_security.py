"""Security basics (docs/operations.md):

- nothing read from a table is unpickled or evaluated: models are stored and
  loaded as text/JSON (round trips: test_propensity.py, test_segmentation.py);
- every var that reaches SQL is validated, and injection-like values stop the
  run with one sentence naming the var;
- the profile takes anything secret from the environment only;
- no tracked file holds a secret.

Each scanner is first shown to catch a planted example, so none can pass by
never matching.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import yaml
from dbt_helpers import REPO_ROOT

# ------------------------------------------------ no unpickling, no eval

UNSAFE_MODULES = {
    "pickle",
    "_pickle",
    "cPickle",
    "dill",
    "cloudpickle",
    "joblib",
    "marshal",
    "shelve",
}
UNSAFE_CALLS = {"eval", "exec", "read_pickle", "unsafe_load", "__import__"}
CODE_FOLDERS = ("segment_and_predict", "python_models", "scripts")


def unsafe_uses(source: str) -> list[str]:
    """Imports of unpickling modules and calls that run code or unpickle data."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in UNSAFE_MODULES:
                found.append(node.module)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in UNSAFE_CALLS:
                found.append(f"{name}()")
            allow_pickle = [k for k in node.keywords if k.arg == "allow_pickle"]
            if any(
                not (isinstance(k.value, ast.Constant) and not k.value.value) for k in allow_pickle
            ):
                found.append(f"{name}(allow_pickle=...)")
            if name == "load" and isinstance(func, ast.Attribute):
                owner = func.value.id if isinstance(func.value, ast.Name) else None
                if owner in {"yaml", "torch"}:
                    found.append(f"{owner}.load()")
    return found


def test_the_scanner_catches_unpickling_and_eval():
    planted = """
import pickle
from joblib import load
import numpy as np, pandas as pd, yaml
model = pickle.loads(row)
frame = pd.read_pickle(path)
arr = np.load(path, allow_pickle=True)
config = yaml.load(text)
value = eval(text)
"""
    assert sorted(unsafe_uses(planted)) == sorted(
        ["pickle", "joblib", "read_pickle()", "load(allow_pickle=...)", "yaml.load()", "eval()"]
    )
    assert unsafe_uses("import json\nmodel = json.loads(text)\nyaml.safe_load(text)\n") == []


def test_no_code_unpickles_or_evaluates_anything():
    offenders = {}
    for folder in CODE_FOLDERS:
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            found = unsafe_uses(path.read_text(encoding="utf-8"))
            if found:
                offenders[str(path.relative_to(REPO_ROOT))] = found
    assert offenders == {}


# ------------------------------------------------ vars that reach SQL

VALIDATORS = r"(?:positive_int_var|fraction_var)\(\s*'(\w+)'"
# Vars validated by a dedicated macro.
VALIDATED_ELSEWHERE = {
    "as_of_date": "scoring_as_of_date_literal",
    "raw_data_path": "validated_raw_data_path",
    "raw_load_date": "raw_load_date_literal",
    "data_quality_max_quarantined_share": "max_quarantined_share",
    "monitoring_psi_warn": "monitoring_psi_thresholds",
    "monitoring_psi_fail": "monitoring_psi_thresholds",
    "backtest_label_dates": "backtest_label_dates_literals",
}


def project_vars() -> set[str]:
    return set(yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text())["vars"])


def project_text(*patterns: str) -> dict[Path, str]:
    return {
        path: path.read_text(encoding="utf-8")
        for pattern in patterns
        for path in sorted(REPO_ROOT.glob(pattern))
    }


def test_every_var_has_a_validator():
    sources = project_text(
        "macros/*.sql", "models/**/*.sql", "models/**/*.yml", "python_models/**/*.yml"
    )
    validated = {name for text in sources.values() for name in re.findall(VALIDATORS, text)}
    macros = "\n".join(project_text("macros/*.sql").values())
    # validate_vars() (on-run-start) checks its lists of names with the same macros
    run_start = re.search(r"macro validate_vars\(\)(.*?)endmacro", macros, re.S).group(1)
    validated |= set(re.findall(r"'(\w+)'", run_start)) & project_vars()
    for name, where in VALIDATED_ELSEWHERE.items():
        if where.endswith(".py"):
            assert f"The var {name} must be" in (REPO_ROOT / where).read_text(), name
        else:
            # var(), or run_input() for the run inputs (macros/run_inputs.sql)
            assert re.search(rf"{where}\(\).*?(?:var|run_input)\('{name}'\)", macros, re.S), name
        validated.add(name)
    assert project_vars() - validated == set()


def test_no_sql_inlines_a_var_unchecked():
    """A raw var() in SQL is only allowed inside the validators or cast with | int."""
    unchecked = []
    for path, text in project_text(
        "models/**/*.sql", "tests/dbt/**/*.sql", "analyses/*.sql"
    ).items():
        for match in re.finditer(r"var\(\s*'(\w+)'\s*\)(\s*\|\s*int\b)?", text):
            if not match.group(2):
                unchecked.append(f"{path.relative_to(REPO_ROOT)}: {match.group(0)}")
    for path, text in project_text("models/**/*.yml", "python_models/**/*.yml").items():
        for line in text.splitlines():
            if not re.search(r"\bvar\(", line) or line.strip().startswith("#"):
                continue
            key = line.strip().split(":", 1)[0]
            # Python model config (checked by validate_vars at run start) and the
            # raw source location, whose quotes are escaped for the SQL literal.
            config_key = key.startswith("gate_") or key in {
                "model_threads",
                "max_training_rows",
                "new_customer_days",
                "label_window_days",
            }
            escaped = key == "external_location" and """replace(\\"'\\", \\"''\\")""" in line
            # a column named for the label window, from a var validate_vars
            # checked to be a whole number (positive_int_var) at run start
            # (a YAML column name, or a unit-test fixture's column alias)
            label_name = re.search(
                r"(name: \"|\bas )\w+_\{\{ var\('label_window_days'\) \}\}d\b", line
            )
            if not (config_key or escaped or label_name):
                unchecked.append(f"{path.relative_to(REPO_ROOT)}: {line.strip()}")
    assert unchecked == []


def test_the_cli_refuses_an_injection_like_date_before_dbt(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "segment_and_predict", "daily", "--as-of-date", "2026-01-01' --"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "as_of_date must be a date written YYYY-MM-DD" in result.stderr
    assert "Traceback" not in result.stderr


# ------------------------------------------------ credentials and secrets

SECRET_KEY = re.compile(r"pass(word|wd)?|secret|token|api_?key|access_?key|credential", re.I)


def profile_values(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from profile_values(value, (*path, str(key)))
    else:
        yield path, node


def literal_secrets(profile: dict) -> list[tuple]:
    """Settings whose name says secret and whose value is not read with env_var()."""
    return [
        (path, value)
        for path, value in profile_values(profile)
        if path and SECRET_KEY.search(path[-1]) and "env_var(" not in str(value)
    ]


def test_a_literal_secret_in_a_profile_is_caught():
    planted = {"p": {"outputs": {"md": {"type": "duckdb", "motherduck_token": "abc123"}}}}
    assert literal_secrets(planted) == [(("p", "outputs", "md", "motherduck_token"), "abc123")]
    planted["p"]["outputs"]["md"]["motherduck_token"] = "{{ env_var('MOTHERDUCK_TOKEN') }}"
    assert literal_secrets(planted) == []


def test_the_profile_reads_secrets_from_the_environment_only():
    profile = yaml.safe_load((REPO_ROOT / "profiles" / "profiles.yml").read_text())
    assert literal_secrets(profile) == []
    # and the warehouse location itself comes from the environment
    local = profile["segment_and_predict"]["outputs"]["local"]
    assert "env_var('SAP_DUCKDB_PATH'" in local["path"]


SECRET_PATTERNS = {
    "private key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    "AWS access key": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "GitHub token": r"\bgh[pousr]_[A-Za-z0-9]{36,}\b",
    "Slack token": r"\bxox[abposr]-[A-Za-z0-9-]{10,}",
    "OpenAI-style key": r"\bsk-[A-Za-z0-9_-]{20,}",
    "MotherDuck/JWT token": r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.",
    "URL with a password": r"[a-z+]+://[^/\s:@]+:[^/\s@]{3,}@",
    # key = "literal", key: 'literal' (not an env_var, a Jinja expression or a placeholder)
    "assigned secret": r"""(?i)\b(?:password|passwd|secret|token|api_?key|access_?key)\b"""
    r"""["']?\s*[:=]\s*["'](?!\{\{|\$|<|env)[^"'\s]{8,}["']""",
}


def secrets_in(text: str) -> list[str]:
    return [name for name, pattern in SECRET_PATTERNS.items() if re.search(pattern, text)]


def test_the_secret_scanner_catches_planted_secrets():
    planted = {
        "-----BEGIN RSA PRIVATE KEY-----": "private key",
        "aws_key = AKIAABCDEFGHIJKLMNOP": "AWS access key",
        "GITHUB=ghp_" + "a1B2" * 9: "GitHub token",
        "url: postgres://analyst:hunter22@db.internal/shop": "URL with a password",
        'password: "correcthorsebattery"': "assigned secret",
        "API_KEY='0123456789abcdef'": "assigned secret",
        "motherduck_token = 'eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.sig'": "MotherDuck/JWT token",
    }
    for text, name in planted.items():
        assert name in secrets_in(text), text
    harmless = [
        "password: \"{{ env_var('SAP_PASSWORD') }}\"",
        "token = os.environ['SAP_TOKEN']",
        "no credentials are needed or read",
        "sort_key: customer_id",
    ]
    assert [text for text in harmless if secrets_in(text)] == []


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    if listed.returncode != 0:  # not a git checkout (e.g. an sdist): every file but caches
        skip = {".git", ".venv", "target", "logs", "data", "warehouse", "reports", "__pycache__"}
        return [p for p in REPO_ROOT.rglob("*") if p.is_file() and not skip & set(p.parts)]
    return [REPO_ROOT / name for name in listed.stdout.split("\0") if name]


def test_the_repository_holds_no_secrets():
    files = tracked_files()
    assert len(files) > 50
    found = {}
    for path in files:
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if path.name == Path(__file__).name:  # this file plants examples on purpose
            continue
        if hits := secrets_in(text):
            found[str(path.relative_to(REPO_ROOT))] = hits
    assert found == {}
