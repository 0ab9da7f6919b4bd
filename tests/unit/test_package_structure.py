"""The package's modules import one way: no module imports, at import time, a module
that imports it back (directly or around a longer loop).

Only module-level imports count (an import inside a function runs later), and a
submodule's import of its own package is not a loop (Python finishes the package
first)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "segment_and_predict"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str, modules: set[str], *, nested: bool = False) -> set[str]:
    """The package modules ``path`` imports: at module level, or anywhere when ``nested``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree) if nested else tree.body:
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
        for target in targets:
            if target in modules and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: _imports(path, name, modules) for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert "segment_and_predict.ml.monitoring" in graph and "segment_and_predict.ml.drift" in graph
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_a_loop():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_monitoring_maths_does_not_depend_on_a_model_package():
    graph = import_graph()
    drift = graph["segment_and_predict.ml.drift"]
    assert not any(m.startswith("segment_and_predict.ml.propensity") for m in drift), drift
    assert not any(m.startswith("segment_and_predict.ml.segmentation") for m in drift), drift


# The package's concerns, each importing only the ones before it: the data (contract,
# raw files, generator) knows nothing of models or dbt; the models read only the data;
# the dbt glue never imports a model (they are trained inside dbt, through
# python_models/); the report reads all three; the entry points (cli, backtest,
# benchmark) sit on top.
CONCERN_ORDER = {"data": 0, "ml": 1, "dbt": 1, "report": 2}
ENTRY_POINTS = {"cli", "backtest", "benchmark", "__main__", ""}


def concern(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_breaches(graph: dict[str, set[str]]) -> list[str]:
    breaches = []
    for module, imports in graph.items():
        own = concern(module)
        if own in ENTRY_POINTS:
            continue
        assert own in CONCERN_ORDER, f"{module} is in no concern folder"
        for target in imports:
            other = concern(target)
            if other == own or other == "":  # the package root holds only __version__
                continue
            if other in ENTRY_POINTS or CONCERN_ORDER[other] >= CONCERN_ORDER[own]:
                breaches.append(f"{module} -> {target}")
    return sorted(breaches)


def test_each_concern_imports_only_the_ones_before_it():
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    graph = {name: _imports(path, name, modules, nested=True) for name, path in paths.items()}
    assert {concern(m) for m in graph} >= set(CONCERN_ORDER)
    assert layer_breaches(graph) == []


def test_the_layer_check_finds_a_breach():
    graph = {
        "segment_and_predict.data.contract": {"segment_and_predict.ml.labels"},
        "segment_and_predict.ml.labels": {"segment_and_predict.data.values"},
        "segment_and_predict.dbt.jobs": {"segment_and_predict.ml.serving"},
        "segment_and_predict.report.page": {"segment_and_predict.dbt.jobs"},
        "segment_and_predict.cli": {"segment_and_predict.report.page"},
    }
    assert layer_breaches(graph) == [
        "segment_and_predict.data.contract -> segment_and_predict.ml.labels",
        "segment_and_predict.dbt.jobs -> segment_and_predict.ml.serving",
    ]
