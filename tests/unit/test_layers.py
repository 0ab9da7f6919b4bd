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
from dbt_helpers import REPO_ROOT

from segment_and_predict.jobs import dbt_target_dir

PROJECT = "segment_and_predict"

# The layers in the order data flows, each with the folders that hold it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("staging", ("models/staging/",)),
    ("quality", ("models/quality/",)),
    ("intermediate", ("models/intermediate/", "python_models/intermediate/")),
    ("features", ("models/features/",)),
    (
        "ml",
        (
            "models/ml/",
            "python_models/propensity/",
            "python_models/segments/",
            "python_models/monitoring/",
        ),
    ),
    ("marts", ("models/marts/",)),
    ("publishing", ("python_models/publishing/",)),
]
RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}


def layer_of(path: str) -> str:
    """The layer of a model file (its path relative to the project)."""
    for name, folders in LAYERS:
        if path.startswith(folders):
            return name
    raise AssertionError(f"{path} is in no layer's folder: move it into one (dbt_project.yml)")


def backward_reads(models: dict[str, dict]) -> list[str]:
    """Every read of a later layer, as 'model (layer) reads parent (layer)'."""
    found = []
    for node in models.values():
        layer = layer_of(node["original_file_path"])
        for parent_id in node["depends_on"]["nodes"]:
            parent = models.get(parent_id)
            if parent is None:  # a source or a seed: below every layer
                continue
            parent_layer = layer_of(parent["original_file_path"])
            if RANK[parent_layer] > RANK[layer]:
                found.append(f"{node['name']} ({layer}) reads {parent['name']} ({parent_layer})")
    return sorted(found)


@pytest.fixture(scope="module")
def models(built_warehouse) -> dict[str, dict]:
    path = dbt_target_dir(built_warehouse.project_dir) / "manifest.json"
    manifest = json.loads(path.read_text())
    return {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["package_name"] == PROJECT
    }


def test_the_walk_finds_a_backward_read():
    """The check can fail: a feature model reading a mart is reported."""
    models = {
        "model.p.customer_features": {
            "name": "customer_features",
            "original_file_path": "models/features/customer_features.sql",
            "depends_on": {"nodes": ["model.p.campaign_targets", "source.p.raw.orders"]},
        },
        "model.p.campaign_targets": {
            "name": "campaign_targets",
            "original_file_path": "models/marts/campaigns/campaign_targets.sql",
            "depends_on": {"nodes": []},
        },
    }
    assert backward_reads(models) == ["customer_features (features) reads campaign_targets (marts)"]
    with pytest.raises(AssertionError, match="in no layer's folder"):
        layer_of("models/scratch/x.sql")


def test_the_project_file_names_the_layers_in_this_order():
    text = (REPO_ROOT / "dbt_project.yml").read_text()
    assert " -> ".join(name for name, _ in LAYERS) in text
