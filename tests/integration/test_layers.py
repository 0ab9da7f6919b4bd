"""The dbt layers read one way: no model reads a layer above its own.

The layers are folders (dbt_project.yml says the order). This walks the
manifest the session's full build wrote (so it adds no dbt run) and checks every
model's parents: a model may read its own layer and those before it, never one
after it. It also checks that each folder holds only its own layer and that
staging views read only their source (and the staged parents the quarantine
checks keys against).
"""

from __future__ import annotations

import json

import pytest
from layers import RANK, backward_reads, layer_of

from segment_and_predict.dbt.jobs import dbt_target_dir

PROJECT = "segment_and_predict"


@pytest.fixture(scope="module")
def models(built_warehouse) -> dict[str, dict]:
    path = dbt_target_dir(built_warehouse.project_dir) / "manifest.json"
    manifest = json.loads(path.read_text())
    return {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["package_name"] == PROJECT
    }


def test_no_model_reads_a_layer_above_its_own(models):
    assert len(models) >= 40
    assert backward_reads(models) == []


def test_every_layer_has_its_models(models):
    layers = {layer_of(node["original_file_path"]) for node in models.values()}
    assert layers == set(RANK)


def test_staging_reads_only_the_raw_export(models):
    for node in models.values():
        if layer_of(node["original_file_path"]) != "staging":
            continue
        parents = [models[p] for p in node["depends_on"]["nodes"] if p in models]
        # the quarantine's keys of repeated rows and its decisions (the rows staging
        # leaves out, found once per build)
        assert all(p["name"] in ("raw_duplicate_keys", "raw_quarantined_rows") for p in parents), (
            node["name"]
        )
        if node["name"].startswith("stg_"):
            assert any(p.startswith("source.") for p in node["depends_on"]["nodes"]), node["name"]


def test_the_daily_job_leaves_out_every_model_that_reads_only_what_training_writes(models):
    # A model whose parents are all training models (the registries, serving_models)
    # or seeds changes only in a run that trains: tagged training, the daily job
    # (dbt build --exclude tag:training) does not rebuild it for nothing.
    def is_training(unique_id: str) -> bool:
        return "training" in models[unique_id]["tags"]

    untagged = []
    for unique_id, node in models.items():
        parents = node["depends_on"]["nodes"]
        model_parents = [p for p in parents if p in models]
        others = [p for p in parents if p not in models and not p.startswith("seed.")]
        if (
            model_parents
            and not others
            and all(is_training(p) for p in model_parents)
            and not is_training(unique_id)
        ):
            untagged.append(node["name"])
    assert untagged == [], f"read only training outputs but are rebuilt daily: {untagged}"
    assert {"propensity_curves", "segment_model_comparison"} <= {
        node["name"] for unique_id, node in models.items() if is_training(unique_id)
    }
