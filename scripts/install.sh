#!/usr/bin/env bash
# Creates .venv (Python 3.11) and installs the project with its exact pins.
# Idempotent: a second run only checks that everything is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${PYTHON:-python3.11}"
command -v "$python_bin" >/dev/null 2>&1 || python_bin=python3
"$python_bin" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version' 

if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    "$python_bin" -m venv .venv
fi
# pip takes seconds even when nothing changed: skip it while pyproject.toml is the one
# last installed from this checkout (the stamp holds its hash and the checkout's path)
stamp=".venv/.installed-pyproject"
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $PWD"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> installing pinned dependencies (pyproject.toml)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
    echo "$want" > "$stamp"
fi
# A DuckDB 1.4 client in its own virtualenv: the tests read the published BI
# snapshot with it, as BI tools with an older embedded DuckDB do (docs/bi.md).
if ! .venv-duckdb14/bin/python -c "import duckdb, pytz; assert duckdb.__version__.startswith('1.4')" >/dev/null 2>&1; then
    echo "==> creating .venv-duckdb14 (DuckDB 1.4 client for the BI snapshot tests)"
    "$python_bin" -m venv .venv-duckdb14
    .venv-duckdb14/bin/python -m pip install --quiet --disable-pip-version-check "duckdb==1.4.*" "pytz"
fi
