"""The raw-data contract: declared once as the dbt sources, read by the package."""

import ast
import re
from pathlib import Path

import yaml

from segment_and_predict.data.contract import (
    CATEGORY_GROUPS,
    TABLES,
    TABLES_BY_NAME,
    tables_from_sources,
)

SOURCES_YML = Path(__file__).resolve().parents[3] / "models" / "staging" / "_raw__sources.yml"


def test_the_contract_is_read_from_the_sources_in_their_order(tmp_path):
    sources = tmp_path / "sources.yml"
    sources.write_text(
        """
sources:
  - name: other
    tables: [{name: ignored}]
  - name: raw
    tables:
      - name: visits
        description: "One row per visit."
        meta: {required: false, primary_key: [visit_id]}
        columns:
          - {name: visit_id, data_type: varchar, description: "Visit."}
          - name: referrer
            data_type: varchar
            description: "Where from; null when unknown."
            meta: {nullable: true, sane_range: [0, 1]}
      - name: accounts
        description: "One row per account."
        meta: {required: true, primary_key: [account_id]}
        columns:
          - {name: account_id, data_type: bigint, description: "Account."}
"""
    )
    visits, accounts = tables_from_sources(sources)
    assert (visits.name, visits.required, visits.primary_key) == ("visits", False, ("visit_id",))
    assert [(c.name, c.type, c.nullable) for c in visits.columns] == [
        ("visit_id", "VARCHAR", False),
        ("referrer", "VARCHAR", True),
    ]
    assert (accounts.name, accounts.required, accounts.columns[0].type) == (
        "accounts",
        True,
        "BIGINT",
    )


def test_the_project_contract_is_its_sources():
    assert tables_from_sources(SOURCES_YML) == TABLES
    assert [t.name for t in TABLES if t.required] == ["customers", "orders"]
    orders = {c.name: c for c in TABLES_BY_NAME["orders"].columns}
    assert not orders["order_total"].nullable and orders["order_total"].type == "DOUBLE"
    tickets = {c.name: c for c in TABLES_BY_NAME["support_tickets"].columns}
    assert tickets["csat_score"].nullable and not tickets["opened_at"].nullable


def test_the_category_groups_are_the_contracts():
    """The share_spend_<group> features come from the category_groups() macro; the
    generator and the docs use contract.CATEGORY_GROUPS: the same groups, plus other."""
    macros = (SOURCES_YML.parents[2] / "macros" / "feature_helpers.sql").read_text()
    listed = re.search(r"macro category_groups\(\).*?return\((\[.*?\])\)", macros, re.S)
    assert listed, "category_groups() not found in macros/feature_helpers.sql"
    assert ast.literal_eval(listed.group(1)) == [*CATEGORY_GROUPS, "other"]


def test_every_source_table_has_a_staging_model():
    staging = SOURCES_YML.parent
    for table in TABLES:
        model = staging / f"stg_{table.name}.sql"
        assert model.exists(), model
        assert f"raw_source('{table.name}')" in model.read_text()


FEATURES_DIR = SOURCES_YML.parents[1] / "features"


def _feature_columns() -> list[dict]:
    models = yaml.safe_load((FEATURES_DIR / "_features__models.yml").read_text())["models"]
    (features,) = [m for m in models if m["name"] == "customer_features"]
    return [c for c in features["columns"] if c["name"] not in ("customer_id", "as_of_date")]


def test_every_feature_says_where_it_is_computed_and_from_which_raw_table():
    """customer_features selects its columns from their YAML meta
    (feature_columns_select): a feature naming a CTE the model lacks, or a raw
    table outside the contract, would fail only at build time; here it fails at once."""
    sql = (FEATURES_DIR / "customer_features.sql").read_text()
    ctes = set(re.findall(r"^(\w+) as \($", sql, re.M)) - {"final"}
    contract = {t.name for t in TABLES}
    for column in _feature_columns():
        meta = column.get("meta") or {}
        assert meta.get("raw_table") in contract, column["name"]
        assert meta.get("computed_in") in ctes, column["name"]
        referenced = set(re.findall(r"\b(\w+)\.\w+", meta.get("sql", "")))
        assert referenced <= ctes, (column["name"], referenced - ctes)
        assert column.get("data_type"), column["name"]  # a missing table's null is cast to it


def test_the_share_features_are_the_category_groups():
    shares = [c["name"] for c in _feature_columns() if c["name"].startswith("share_spend_")]
    assert shares == [f"share_spend_{g}" for g in [*CATEGORY_GROUPS, "other"]]
