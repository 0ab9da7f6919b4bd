"""The public interface as dbt declares it: contracts, access, groups, unit tests, exposures.

Read from the manifest that the session's full build wrote (target/, or the
worker's $DBT_TARGET_PATH), so this module adds no dbt run of its own. Another
test of the session may have run dbt since with other vars (a 7-day label);
nothing asserted here depends on vars.
"""

from __future__ import annotations

import json
import re

import pytest
from dbt_helpers import REPO_ROOT

from segment_and_predict.dbt.jobs import dbt_target_dir

PROJECT = "segment_and_predict"
BI_DOC = REPO_ROOT / "docs" / "bi.md"

# The mart logic people act on and the unit tests that pin it
# (models/marts/_marts__unit_tests.yml).
MART_UNIT_TESTS = {
    "campaign_target_customers": {
        "each_band_of_the_scores_takes_its_own_playbook_row",
        "playbook_action_is_the_longest_segment_name_match_of_the_band",
        "activation_list_holds_the_serving_models_on_the_scoring_date_only",
        "a_backfill_lists_the_scores_of_its_own_date",
    },
    "campaign_targets": {"campaign_targets_count_customers_and_buyers_per_segment_and_band"},
    "segment_migration": {
        "segment_migration_counts_moves_from_the_date_before_the_scoring_date",
        "segment_migration_is_empty_until_there_are_two_dates",
        "a_backfill_shows_the_moves_into_its_own_date",
    },
}
MONITORING_TABLES = {
    "monitoring_feature_drift",
    "monitoring_score_drift",
    "monitoring_segment_drift",
    "monitoring_realised_performance",
}


@pytest.fixture(scope="module")
def manifest(built_warehouse) -> dict:
    path = dbt_target_dir(built_warehouse.project_dir) / "manifest.json"
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def models(manifest) -> dict[str, dict]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == PROJECT
    }


def _tables_named_in_the_bi_guide() -> set[str]:
    """Every `table` of docs/bi.md's "Which table for which dashboard" section."""
    text = BI_DOC.read_text()
    section = text.split("## Which table for which dashboard", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
    # the tables column, without its remarks in brackets ("filter on `as_of_date`")
    cells = [re.sub(r"\([^)]*\)", "", row.split("|")[2]) for row in rows]
    return {name for cell in cells for name in re.findall(r"`([a-z_]+)`", cell)}


def test_every_public_sql_table_has_an_enforced_contract_with_typed_columns(models):
    # the SQL tables of the quality, features, ml and marts layers (models/*/)
    sql_files = {
        path.stem
        for folder in ("quality", "features", "ml", "marts")
        for path in (REPO_ROOT / "models" / folder).rglob("*.sql")
    }
    sql_marts = {
        name: node
        for name, node in models.items()
        if node["language"] == "sql" and node["config"]["contract"]["enforced"]
    }
    # every SQL table there, but the protected row checks (staging's helper table)
    assert set(sql_marts) == sql_files - {"raw_row_checks"}
    public_sql = {
        n for n, node in models.items() if node["language"] == "sql" and node["access"] == "public"
    }
    assert public_sql <= set(sql_marts)
    assert len(sql_marts) >= 16
    for name, node in sql_marts.items():
        assert node["config"]["contract"]["enforced"] is True, name
        assert node["columns"], f"{name} declares no columns"
        untyped = [column for column, spec in node["columns"].items() if not spec.get("data_type")]
        assert untyped == [], f"{name}: columns without data_type: {untyped}"
    # Python models cannot have contracts in dbt-duckdb; none gets the marts' config
    python_with_contract = [
        name
        for name, node in models.items()
        if node["language"] == "python" and node["config"]["contract"]["enforced"]
    ]
    assert python_with_contract == []


def test_what_readers_query_is_public_and_the_rest_protected(models):
    # public = what the BI snapshot publishes: every table of schema main
    published = {name for name, node in models.items() if node["schema"] == "main"}
    public = {name for name, node in models.items() if node["access"] == "public"}
    assert public == published
    assert _tables_named_in_the_bi_guide() <= public
    assert {
        "campaign_targets",
        "campaign_target_customers",
        "propensity_scores",
        "customer_segments",
        "segment_profiles",
        "segment_migration",
        "data_quality_issues",
        "data_sources",
        *MONITORING_TABLES,
    } <= public
    # protected, not private: other groups ref staging and intermediate models
    assert {node["access"] for name, node in models.items() if name not in public} == {"protected"}
    assert {"stg_orders", "int_snapshot_dates", "customer_labels", "bi_snapshot"} <= set(
        models
    ) - public


def test_every_model_belongs_to_a_declared_group_with_an_owner(manifest, models):
    groups = {group["name"]: group for group in manifest["groups"].values()}
    assert {"staging", "quality", "intermediate", "features", "ml", "marts", "publishing"} <= set(
        groups
    )
    for group in groups.values():
        assert group["owner"].get("name") or group["owner"].get("email"), group["name"]
    ungrouped = sorted(name for name, node in models.items() if node["group"] not in groups)
    assert ungrouped == []
    assert models["stg_orders"]["group"] == "staging"
    assert models["int_snapshot_dates"]["group"] == "intermediate"
    assert models["campaign_targets"]["group"] == "marts"
    assert models["propensity_models"]["group"] == "ml"
    assert models["serving_models"]["group"] == "ml"
    assert models["customer_features"]["group"] == "features"
    assert models["data_quality_issues"]["group"] == "quality"


def test_the_mart_logic_has_its_unit_tests(manifest):
    found: dict[str, set[str]] = {}
    for test in manifest["unit_tests"].values():
        found.setdefault(test["model"], set()).add(test["name"])
    for model, names in MART_UNIT_TESTS.items():
        assert names <= found.get(model, set()), (model, names - found.get(model, set()))


def test_the_monitoring_dashboard_reads_the_four_monitoring_tables(manifest):
    exposure = manifest["exposures"][f"exposure.{PROJECT}.monitoring_dashboard"]
    read = {uid.rsplit(".", 1)[1] for uid in exposure["depends_on"]["nodes"]}
    assert read >= MONITORING_TABLES
