"""Integration: a real retailer's purchase log (CDNOW) through the whole pipeline.

Converts CDNOW_master.txt into the raw-data contract and runs the full build with
the gates set for CDNOW (CDNOW_GATE_VARS, as docs/bring_your_own_data.md shows).
It uses the real file when one is available: SAP_CDNOW_FILE=/path/to/CDNOW_master.txt,
or SAP_CDNOW_DOWNLOAD=1 to fetch the lifetimes wheel from PyPI. Otherwise it uses
the excerpt shipped in tests/data (customers 1-6000 of the real log).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml
from dbt_helpers import REPO_ROOT, assert_dbt_ok, read_table

from segment_and_predict.data.contract import OPTIONAL_TABLES
from segment_and_predict.data.datasets.cdnow import (
    CDNOW_GATE_VARS,
    cdnow_vars_text,
    convert_cdnow,
    download_cdnow_master,
)
from segment_and_predict.dbt.jobs import Warehouse, full_build, parse_dbt_vars

EXCERPT = REPO_ROOT / "tests" / "data" / "cdnow_excerpt.txt"
GUIDE = REPO_ROOT / "docs" / "bring_your_own_data.md"
README = REPO_ROOT / "README.md"
CDNOW_BUILD_VARS = r"build --raw-data-path data/cdnow .*--vars '([^']+)'"
REAL_CUSTOMERS = 23_570
EXCERPT_CUSTOMERS = 6_000

pytestmark = pytest.mark.integration  # builds the CDNOW example with dbt


def _cdnow_file(tmp_path_factory) -> tuple[Path, int]:
    """The real CDNOW file when available, else the shipped excerpt; and its customer count."""
    given = os.environ.get("SAP_CDNOW_FILE")
    if given:
        if not Path(given).is_file():
            pytest.fail(f"SAP_CDNOW_FILE={given} is not a file")
        return Path(given), REAL_CUSTOMERS
    if os.environ.get("SAP_CDNOW_DOWNLOAD") == "1":
        return download_cdnow_master(tmp_path_factory.mktemp("cdnow_src")), REAL_CUSTOMERS
    return EXCERPT, EXCERPT_CUSTOMERS


@pytest.fixture(scope="module")
def cdnow_build(tmp_path_factory):
    source, customers = _cdnow_file(tmp_path_factory)
    raw = tmp_path_factory.mktemp("cdnow") / "raw"
    converted = convert_cdnow(source, raw)
    assert converted.customers == customers
    warehouse = Warehouse.from_paths(REPO_ROOT, raw, raw.parent / "cdnow.duckdb")
    assert_dbt_ok(full_build(warehouse, dbt_vars=CDNOW_GATE_VARS, capture=True))
    return warehouse, customers


def test_the_docs_and_the_converter_give_the_same_cdnow_gates():
    for doc in (GUIDE, README):
        commands = re.findall(CDNOW_BUILD_VARS, doc.read_text())
        assert len(commands) == 1, f"{doc.name} shows the CDNOW build command once"
        assert parse_dbt_vars(commands[0]) == CDNOW_GATE_VARS
    assert yaml.safe_load(cdnow_vars_text()) == CDNOW_GATE_VARS


def test_cdnow_build_records_model_and_both_baselines_out_of_time(cdnow_build):
    warehouse, customers = cdnow_build
    model = read_table(warehouse, "select * from propensity_models").iloc[0]
    assert bool(model["passed_quality_gate"])
    assert json.loads(model["gate_json"])["must_beat_baselines"] is False
    # six 30-day snapshots back from 1998-06-01, the last one fully observed
    assert json.loads(model["train_as_of_dates"]) == [
        "1998-01-02",
        "1998-02-01",
        "1998-03-03",
        "1998-04-02",
    ]
    assert (model["validation_as_of_date"], model["test_as_of_date"]) == (
        "1998-05-02",
        "1998-06-01",
    )
    assert model["n_test"] == customers and model["n_train"] == 4 * customers
    assert 0.04 < model["test_positive_rate"] < 0.10
    for prefix in ("", "logreg_", "rule_"):
        assert 0.80 < model[f"{prefix}roc_auc"] < 0.90
        assert 0.25 < model[f"{prefix}pr_auc"] < 0.50
        assert 0.30 < model[f"{prefix}f1"] < 0.50
    # only purchase history: the model is no better than the rule by any real margin
    assert abs(model["roc_auc"] - model["rule_roc_auc"]) < 0.02
    features = json.loads(model["features_json"])
    assert "days_since_last_order" in features and "sessions_30d" not in features


def test_cdnow_segments_are_profiled_from_customers_and_orders(cdnow_build):
    warehouse, customers = cdnow_build
    sources = read_table(warehouse, "select table_name, status, row_count from data_sources")
    status = dict(zip(sources["table_name"], sources["status"], strict=True))
    assert {t for t, s in status.items() if s == "absent"} == set(OPTIONAL_TABLES)

    profiles = read_table(warehouse, "select * from segment_profiles order by customers desc")
    assert 4 <= len(profiles) <= 8
    assert profiles["customers"].sum() == customers
    assert profiles["customer_share"].sum() == pytest.approx(1.0)
    assert profiles["segment_name"].is_unique and profiles["segment_description"].notna().all()
    assert set(profiles["data_sources_present"]) == {"customers, orders"}
    # most CDNOW customers bought once in early 1997 and never again
    largest = profiles.iloc[0]
    assert largest["segment_name"] == "Dormant customers" and largest["customer_share"] > 0.5
    assert largest["observed_purchase_rate_30d"] == profiles["observed_purchase_rate_30d"].min()
    assert profiles["avg_sessions_30d"].isna().all()
