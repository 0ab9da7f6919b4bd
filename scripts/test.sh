#!/usr/bin/env bash
# Every check: lint (ruff, sqlfluff with the dbt templater) and the pytest
# suite, which includes dbt builds on small generated data.
#   scripts/test.sh            everything (the README's test command, CI)
#   scripts/test.sh --fast     lint and the unit layer only (no dbt builds), about a minute
# Other arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

pytest_args=()
for arg in "$@"; do
    if [ "$arg" = "--fast" ]; then
        pytest_args+=(-m "not integration")
    else
        pytest_args+=("$arg")
    fi
done

bash scripts/install.sh
export DBT_PROFILES_DIR="$PWD/profiles"
lint_dir="$(mktemp -d)"
trap 'rm -rf "$lint_dir"' EXIT
export SAP_DUCKDB_PATH="$lint_dir/lint.duckdb"

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> sqlfluff"
.venv/bin/sqlfluff lint models tests/dbt analyses
echo "==> pytest"
.venv/bin/pytest -q "${pytest_args[@]}"
