"""The raw-data contract is stated twice (Python for the generator, YAML for dbt); they agree."""

from pathlib import Path

import yaml

from segment_and_predict.contract import TABLES

SOURCES_YML = Path(__file__).resolve().parents[2] / "models" / "staging" / "_raw__sources.yml"


def _dbt_tables() -> dict:
    sources = yaml.safe_load(SOURCES_YML.read_text())["sources"]
    (raw,) = [s for s in sources if s["name"] == "raw"]
    return {t["name"]: t for t in raw["tables"]}


def test_sources_declare_exactly_the_contract_tables():
    assert set(_dbt_tables()) == {t.name for t in TABLES}


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
