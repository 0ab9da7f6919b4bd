"""The layer walk itself (tests/support/layers.py): it finds a backward read, refuses a
folder of no layer, and dbt_project.yml names the layers in the same order."""

from __future__ import annotations

import pytest
from dbt_helpers import REPO_ROOT
from layers import LAYERS, backward_reads, layer_of


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
