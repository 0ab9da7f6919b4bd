"""The catalogue of bad inputs (docs/bad_inputs.md): one test per row.

Two policies. REJECT: the build stops before any feature, model or score
changes, with a message naming the table, the column and the rule, and no
Python traceback. QUARANTINE: the rows are left out by staging and counted in
the table data_quality_issues; the build goes on.

To keep this quick, the reject cases found by the first step of every build
share one dbt run (the check reports every problem at once), and every
row-level defect is injected into one copy of the small data that is built
once (with two optional tables absent/empty, a customer with no activity and a
customer with category values the model never saw).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from dbt_helpers import REPO_ROOT

from segment_and_predict.data.raw_checks import raw_table_problems
from segment_and_predict.ml.propensity.data import MIN_LABELLED_SNAPSHOTS, FeatureEncoder

# --------------------------------------------------------------------------
# REJECT at the first step of the build: the raw files do not fit the contract
# --------------------------------------------------------------------------


def test_raw_checks_accept_what_staging_can_cast(tmp_path):
    """Integer ids, dates for timestamps, floats for integers, all-null and extra columns pass."""
    path = tmp_path / "support_tickets.parquet"
    table = pa.table(
        {
            "ticket_id": pa.array([1, 2], pa.int32()),
            "customer_id": pa.array(["a", "b"], pa.large_string()),
            "opened_at": pa.array([dt.date(2026, 1, 1), dt.date(2026, 1, 2)], pa.date32()),
            "resolved_at": pa.array([None, None], pa.null()),
            "reason": pa.array(["x", "y"]).dictionary_encode(),
            "csat_score": pa.array([4.0, None], pa.float64()),
            "something_else": pa.array([1, 2]),
        }
    )
    pq.write_table(table, path)
    assert raw_table_problems("support_tickets", str(path)) == []
    # and an empty optional table is fine, an empty required one is not
    pq.write_table(table.slice(0, 0), path)
    assert raw_table_problems("support_tickets", str(path)) == []
    customers = tmp_path / "customers.parquet"
    pq.write_table(pa.table({"customer_id": pa.array([], pa.string())}), customers)
    problems = raw_table_problems("customers", str(customers))
    assert any("column 'signed_up_at': rule 'required column'" in p for p in problems)


# --------------------------------------------------------------------------
# REJECT: vars that make no sense
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# REJECT: a broken export (too many quarantined rows) stops at the gate
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# REJECT: too few labelled snapshots; the serving models keep serving
# --------------------------------------------------------------------------


def test_the_snapshot_check_uses_the_trainers_minimum():
    models = yaml.safe_load(
        (REPO_ROOT / "models" / "features" / "_features__models.yml").read_text()
    )["models"]
    (labels,) = [m for m in models if m["name"] == "customer_labels"]
    (check,) = [
        t["enough_labelled_snapshots"]
        for t in labels["data_tests"]
        if "enough_labelled_snapshots" in t
    ]
    assert check["arguments"]["min_snapshots"] == MIN_LABELLED_SNAPSHOTS


# --------------------------------------------------------------------------
# QUARANTINE: row-level defects, all in one build
# --------------------------------------------------------------------------


# (table, rule, column) -> rows quarantined


def test_the_encoder_counts_exactly_the_values_it_maps_to_missing():
    train = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "as_of_date": pd.to_datetime(["2026-01-01"] * 3),
            "region": ["north", "south", None],
            "orders_365d": [1, 2, 3],
            "purchased_next_30d": [True, False, True],
        }
    )
    encoder = FeatureEncoder().fit(train)
    scoring = train.assign(region=["north", "mars", "mars"])
    assert encoder.unseen_categories(scoring).values.tolist() == [["region", "mars", 2]]
    assert encoder.transform(scoring)["region"].isna().tolist() == [False, True, True]
    assert encoder.unseen_categories(train).empty
