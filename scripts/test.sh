#!/usr/bin/env bash
# Every check: lint (ruff, sqlfluff with the dbt templater) and the pytest
# suite, which includes dbt builds on small generated data.
set -euo pipefail
cd "$(dirname "$0")/.."

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
.venv/bin/pytest -q "$@"
