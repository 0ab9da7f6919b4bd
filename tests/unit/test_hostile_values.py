"""Hostile values in the raw export (docs/bad_inputs.md, section "Hostile values").

Two dbt runs serve every case, each on a copy of the session's built warehouse:

- ``nonfinite_daily``: one export with NaN, +inf, -inf, 1e308 amounts and values
  beyond the contract's sane ranges in every kind of numeric column (amounts,
  counts, a duration, float and integer columns). The daily job quarantines those
  rows, counts them in data_quality_issues and scores everyone else exactly as a
  clean export would.
- ``refused_daily``: one export with an all-null required column, a mostly-null
  required column and mixed-case column names. The first step of the build refuses
  it with one sentence per problem, and no public table changes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from dbt_helpers import REPO_ROOT

from segment_and_predict.data.contract import TABLES_BY_NAME
from segment_and_predict.data.raw_checks import MAX_NULL_SHARE, raw_table_problems
from segment_and_predict.ml import drift
from segment_and_predict.ml.propensity import (
    FeatureEncoder,
    PropensityModel,
    train_propensity_model,
)
from segment_and_predict.ml.propensity.data import MAX_CATEGORY_LEVELS, OTHER_LEVEL

SOURCES_YML = REPO_ROOT / "models" / "staging" / "_raw__sources.yml"
CONTRACT_DOC = REPO_ROOT / "docs" / "raw_data_contract.md"


# --------------------------------------------------------------------------
# QUARANTINE: NaN, +-inf and insane values, in one daily run
# --------------------------------------------------------------------------


# (table, rule, column) -> rows quarantined


# --------------------------------------------------------------------------
# REJECT: contract promises broken by the whole export
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# The rules themselves, without dbt
# --------------------------------------------------------------------------


def _orders(discount: list, tmp_path: Path, **write) -> str:
    n = len(discount)
    path = tmp_path / "orders.parquet"
    table = pa.table(
        {
            "order_id": list(range(n)),
            "customer_id": [1] * n,
            "ordered_at": pa.array([0] * n, pa.timestamp("us")),
            "order_total": [10.0] * n,
            "discount_amount": pa.array(discount, pa.float64()),
        }
    )
    pq.write_table(table, path, **write)
    return str(path)


@pytest.mark.parametrize("statistics", [True, False], ids=["with_statistics", "without"])
def test_the_null_share_limit_is_exact(tmp_path, statistics):
    """At most MAX_NULL_SHARE of a required column may be null; one more row refuses it."""
    limit = int(MAX_NULL_SHARE * 100)
    at_limit = [None] * limit + [0.0] * (100 - limit)
    assert (
        raw_table_problems("orders", _orders(at_limit, tmp_path, write_statistics=statistics)) == []
    )
    above = [None] * (limit + 1) + [0.0] * (99 - limit)
    (problem,) = raw_table_problems("orders", _orders(above, tmp_path, write_statistics=statistics))
    assert f"{limit + 1} of its 100 rows" in problem


def test_a_column_of_null_type_is_all_null(tmp_path):
    """pandas writes a column of None as Arrow's null type: every row is null."""
    path = tmp_path / "orders.parquet"
    pd.DataFrame(
        {
            "order_id": [1, 2],
            "customer_id": [1, 1],
            "ordered_at": pd.to_datetime(["2026-01-01", "2026-01-02"]),
            "order_total": [1.0, 2.0],
            "discount_amount": [None, None],
        }
    ).to_parquet(path)
    (problem,) = raw_table_problems("orders", str(path))
    assert "column 'discount_amount': rule 'required column has values': every one" in problem
    assert problem.endswith("Fill it and export again (docs/raw_data_contract.md).")


def test_nullable_columns_may_be_all_null(tmp_path):
    path = tmp_path / "support_tickets.parquet"
    pq.write_table(
        pa.table(
            {
                "ticket_id": [1, 2],
                "customer_id": [1, 1],
                "opened_at": pa.array([0, 1], pa.timestamp("us")),
                "resolved_at": pa.nulls(2, pa.timestamp("us")),
                "reason": pa.nulls(2, pa.string()),
                "csat_score": pa.nulls(2, pa.int32()),
            }
        ),
        path,
    )
    assert raw_table_problems("support_tickets", str(path)) == []


def _numeric_source_columns() -> list[tuple[str, dict]]:
    sources = yaml.safe_load(SOURCES_YML.read_text())["sources"]
    (raw,) = [s for s in sources if s["name"] == "raw"]
    return [
        (f"{table['name']}.{column['name']}", column)
        for table in raw["tables"]
        for column in table["columns"]
        if column["data_type"] in ("double", "integer")
    ]


def test_every_numeric_raw_column_declares_a_finite_sane_range():
    columns = _numeric_source_columns()
    assert len(columns) >= 10
    for name, column in columns:
        low, high = column["meta"]["sane_range"]
        assert math.isfinite(low) and math.isfinite(high) and low < high, name
        # the bound keeps any sum over a large export finite and exact enough
        assert high <= 1e12, name


def test_the_contract_doc_states_every_sane_range():
    doc = CONTRACT_DOC.read_text()
    for name, column in _numeric_source_columns():
        low, high = column["meta"]["sane_range"]
        assert f"| `{name}` | {low:,} | {high:,} |" in doc, name


def test_the_contract_marks_the_columns_checked_for_values():
    """The null-share rule reads the contract's nullable flags; some columns carry it."""
    required = [c.name for c in TABLES_BY_NAME["orders"].columns if not c.nullable]
    assert "discount_amount" in required


# --------------------------------------------------------------------------
# High-cardinality categories: capped at training, the cap stored and served
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_region_per_customer():
    """make_features data where every customer has a region of their own, plus a
    region that a fifth of the customers share (a frequent value the cap keeps)."""
    from synthetic_features import make_features

    features = make_features(n_customers=2000)
    own = "region-" + features["customer_id"].astype(str)
    shared = features["customer_id"].str[-1].isin(["0", "5"])
    features["region"] = own.where(~shared, "capital")
    return features


@pytest.fixture(scope="module")
def trained_on_unique_regions(one_region_per_customer):
    return train_propensity_model(one_region_per_customer)


def test_a_high_cardinality_category_is_capped_at_training(trained_on_unique_regions):
    levels = trained_on_unique_regions.model.encoder_.categorical_levels_["region"]
    assert levels == ["capital", OTHER_LEVEL]
    stored = json.loads(trained_on_unique_regions.registry_row["reference_distribution_json"])
    assert stored["features"]["region"]["levels"] == ["capital", OTHER_LEVEL]


def test_the_stored_cap_serves_new_values_as_other_and_keeps_drift_low(
    trained_on_unique_regions, one_region_per_customer
):
    """The scoring snapshot's new one-off regions: scored as "other", not unseen, no drift."""
    model = PropensityModel.from_json(trained_on_unique_regions.registry_row["model_json"])
    latest = one_region_per_customer[
        one_region_per_customer["as_of_date"] == one_region_per_customer["as_of_date"].max()
    ].copy()
    latest["region"] = latest["region"].where(
        latest["region"] == "capital", "brand-new-" + latest["customer_id"]
    )
    encoded = model.encoder_.transform(latest)["region"]
    assert set(encoded.dropna().unique()) == {"capital", OTHER_LEVEL}
    assert model.encoder_.unseen_categories(latest).empty
    reference = json.loads(trained_on_unique_regions.registry_row["reference_distribution_json"])
    (region,) = [
        row
        for row in drift.feature_drift(reference, latest, latest["as_of_date"].iloc[0])
        if row["feature"] == "region"
    ]
    assert region["psi"] < 0.1
    assert np.isfinite(model.predict_probability(latest)).all()


def test_a_category_with_few_values_is_not_capped():
    encoder = FeatureEncoder().fit(
        pd.DataFrame({"region": ["north"] * 98 + ["south", "east"], "x": range(100)})
    )
    assert encoder.categorical_levels_["region"] == ["east", "north", "south"]
    assert encoder.unseen_categories(pd.DataFrame({"region": ["west"]}))["rows"].tolist() == [1]


def test_the_cap_keeps_at_most_the_documented_number_of_levels():
    values = [f"v{i:02d}" for i in range(MAX_CATEGORY_LEVELS + 10) for _ in range(50)]
    encoder = FeatureEncoder().fit(pd.DataFrame({"code": values, "x": range(len(values))}))
    levels = encoder.categorical_levels_["code"]
    assert len(levels) == MAX_CATEGORY_LEVELS + 1 and levels[-1] == OTHER_LEVEL
    restored = FeatureEncoder.from_dict(json.loads(json.dumps(encoder.to_dict())))
    assert restored.categorical_levels_ == encoder.categorical_levels_
