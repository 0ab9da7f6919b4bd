"""The raw-data contract is stated twice (Python for the generator, YAML for dbt); they agree."""

import ast
import re
from pathlib import Path

import yaml

from segment_and_predict.data.contract import CATEGORY_GROUPS, TABLES

SOURCES_YML = Path(__file__).resolve().parents[3] / "models" / "staging" / "_raw__sources.yml"


def _dbt_tables() -> dict:
    sources = yaml.safe_load(SOURCES_YML.read_text())["sources"]
    (raw,) = [s for s in sources if s["name"] == "raw"]
    return {t["name"]: t for t in raw["tables"]}


def test_sources_declare_exactly_the_contract_tables_in_its_order():
    # data_sources numbers the tables in the sources' order (contract_position)
    assert list(_dbt_tables()) == [t.name for t in TABLES]


def test_the_category_groups_are_the_contracts():
    """The share_spend_<group> features come from the category_groups() macro; the
    generator and the docs use contract.CATEGORY_GROUPS: the same groups, plus other."""
    macros = (SOURCES_YML.parents[2] / "macros" / "feature_helpers.sql").read_text()
    listed = re.search(r"macro category_groups\(\).*?return\((\[.*?\])\)", macros, re.S)
    assert listed, "category_groups() not found in macros/feature_helpers.sql"
    assert ast.literal_eval(listed.group(1)) == [*CATEGORY_GROUPS, "other"]


def test_sources_declare_the_contract_columns_types_and_requiredness():
    dbt_tables = _dbt_tables()
    for table in TABLES:
        declared = dbt_tables[table.name]
        assert declared["meta"]["required"] is table.required, table.name
        assert list(declared["meta"]["primary_key"]) == list(table.primary_key), table.name
        assert [(c["name"], c["data_type"]) for c in declared["columns"]] == [
            (c.name, c.type.lower()) for c in table.columns
        ], table.name


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
