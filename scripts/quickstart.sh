#!/usr/bin/env bash
# One command from a fresh clone: install, generate the default data
# (240,000 customers), run the full dbt build (training included), and write
# the report. Set CUSTOMERS=... for another size.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh
customers="${CUSTOMERS:-240000}"

if [ -f data/raw/customers.parquet ] && [ "$(cat data/raw/.customers 2>/dev/null)" = "$customers" ]; then
    echo "==> data/raw already holds the generated data for $customers customers"
else
    echo "==> generating $customers customers into data/raw"
    .venv/bin/segment-and-predict generate --customers "$customers" --out data/raw
    echo "$customers" > data/raw/.customers
fi

echo "==> dbt build (full: features, training, scoring, segments, marts, tests)"
.venv/bin/segment-and-predict build

echo "==> report"
.venv/bin/segment-and-predict report
