#!/usr/bin/env bash
# Every check: lint (ruff, sqlfluff with the dbt templater) and the pytest
# suite, which includes dbt builds on small generated data.
#   scripts/test.sh            everything (the README's test command, CI), on two pytest-xdist
#                              workers: most of a dbt build is one core's work
#   scripts/test.sh --fast     lint and the unit layer (tests/unit, no dbt builds, no
#                              browser) on two workers, under a minute; sqlfluff skips files whose rendered
#                              SQL has not changed since they passed (scripts/lint_sql.py)
# Other arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each worker builds its own session warehouse; a file's tests stay on one
# worker, so module fixtures are built once (conftest gives each worker its own
# dbt target/ and logs/).
fast=0
extra_args=()
for arg in "$@"; do
    if [ "$arg" = "--fast" ]; then
        fast=1
    else
        extra_args+=("$arg")
    fi
done
if [ "$fast" = 1 ]; then
    pytest_args=(-m "not integration and not browser" --numprocesses 2 --dist loadfile tests/unit "${extra_args[@]}")
else
    pytest_args=(--numprocesses 2 --dist loadfile "${extra_args[@]}")
fi

bash scripts/install.sh
export DBT_PROFILES_DIR="$PWD/profiles"
lint_dir="$(mktemp -d)"
trap 'rm -rf "$lint_dir"' EXIT
export SAP_DUCKDB_PATH="$lint_dir/lint.duckdb"

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> sqlfluff"
if [ "$fast" = 1 ]; then
    .venv/bin/python scripts/lint_sql.py models tests/dbt analyses
else
    .venv/bin/sqlfluff lint models tests/dbt analyses
fi
echo "==> pytest"
.venv/bin/pytest -q "${pytest_args[@]}"
