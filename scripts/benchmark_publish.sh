#!/usr/bin/env bash
# The cost of the BI publish step (docs/bi.md) in the daily job: daily runs with
# and without the bi_snapshot model, alternating, three each, each run on a new
# date. After each run without it the snapshot is caught up (untimed), so every
# run with it publishes exactly one new day.
#
#   bash scripts/benchmark_publish.sh WAREHOUSE RAW_DIR FIRST_DATE
#   e.g. bash scripts/benchmark_publish.sh /tmp/wh240.duckdb /tmp/raw240 2026-10-26
# WAREHOUSE must be built already (segment-and-predict build); the six dates
# from FIRST_DATE on must lie within the data.
set -euo pipefail
cd "$(dirname "$0")/.."
warehouse="$1" raw="$2" first="$3"
publish_dir="${SAP_PUBLISH_DIR:-${warehouse%.duckdb}_bi}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export DBT_PROFILES_DIR="$PWD/profiles" SAP_DUCKDB_PATH="$warehouse" SAP_PUBLISH_DIR="$publish_dir"
export DBT_SEND_ANONYMOUS_USAGE_STATS=false
i=0
for run in 1 2 3; do
    for mode in with without; do
        day="$(date -u -d "$first + $i days" +%F)"
        i=$((i + 1))
        exclude=(tag:training tag:implied_by_quarantine)
        [ "$mode" = without ] && exclude+=(bi_snapshot)
        start=$(date +%s.%N)
        .venv/bin/dbt build --exclude "${exclude[@]}" --exclude-resource-type unit_test \
            --target-path "$work/target" --log-path "$work/logs" \
            --vars "{\"raw_data_path\": \"$raw\", \"as_of_date\": \"$day\"}" >"$work/dbt.log" 2>&1 \
            || { tail -20 "$work/dbt.log"; exit 1; }
        end=$(date +%s.%N)
        node=$(.venv/bin/python -c "import json, sys; r = json.load(open(sys.argv[1])); print(' '.join(f\"{x['execution_time']:.2f}\" for x in r['results'] if x['unique_id'].endswith('.bi_snapshot')) or '-')" "$work/target/run_results.json")
        printf '%-7s run %s  %s  daily %6.1f s  bi_snapshot %s s  load %s\n' \
            "$mode" "$run" "$day" "$(echo "$end - $start" | bc)" "$node" "$(cut -d' ' -f1 /proc/loadavg)"
        if [ "$mode" = without ]; then
            .venv/bin/python -c "from segment_and_predict.dbt.publish import publish_warehouse; publish_warehouse('$warehouse', '$publish_dir')"
        fi
    done
done
