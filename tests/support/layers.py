"""The dbt layers in the order data flows, and the walk that finds a read of a later
layer: the one list both tests/unit/test_layers.py (the walk's own checks) and
tests/integration/test_layers.py (the walk over the built manifest) use."""

from __future__ import annotations

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
