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

import duckdb
import pytest
from dbt_helpers import REPO_ROOT

from segment_and_predict.dbt.jobs import Warehouse, run_dbt

# ------------------------------------------------ no unpickling, no eval


# ------------------------------------------------ vars that reach SQL

# Vars validated by a dedicated macro.


@pytest.mark.parametrize(
    ("dbt_vars", "message"),
    [
        (
            {"as_of_date": "2026-01-01'; drop table customer_features; --"},
            "The var as_of_date must be a date written YYYY-MM-DD",
        ),
        (
            {"raw_data_path": "/tmp/raw'; copy customers to 'x"},
            "The var raw_data_path must be a folder path without quotes",
        ),
        (
            {"propensity_gate_min_roc_auc": "0.5 or true"},
            "The var propensity_gate_min_roc_auc must be a number from 0 to 1",
        ),
        (
            {"segment_gate_max_k": "8) or (1 = 1"},
            "The var segment_gate_max_k must be a whole number",
        ),
    ],
    ids=["as_of_date", "raw_data_path", "gate_threshold", "gate_k"],
)
def test_injection_like_vars_stop_the_build_with_a_plain_message(
    small_raw_data, tmp_path, dbt_vars, message
):
    warehouse = Warehouse(REPO_ROOT, small_raw_data, tmp_path / "wh.duckdb")
    result = run_dbt(["build"], warehouse, dbt_vars=dbt_vars, capture=True)
    assert result.returncode != 0
    assert message in result.stdout, result.stdout[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    if warehouse.warehouse_path.exists():  # stopped before any model or seed
        with duckdb.connect(str(warehouse.warehouse_path), read_only=True) as con:
            assert con.execute("select count(*) from information_schema.tables").fetchall() == [
                (0,)
            ]


# ------------------------------------------------ credentials and secrets
