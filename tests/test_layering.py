"""The import rules of the layers (docs/architecture.md), read from the source with `ast`: every
import counts, also one inside a function.

- `ecgmask/` (the core) imports no Ray and nothing of the layers above it;
- `trainables/`, `analysis/` and `search_spaces/` import nothing of the driver (`sweep/`) but
  a sweep's storage (`sweep.store`), which imports nothing of the driver either;
- no circle between the layers (with `sweep.store` a layer of its own, below the driver).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("ecgmask", "search_spaces", "trainables", "analysis", "sweep", "benchmarks")
STORE = "sweep.store"


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The absolute names of the modules a file imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from its own package up
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            out.add(name)
            out.update(f"{name}.{alias.name}" for alias in node.names)  # `from sweep import store`
    return out


def _layer(module: str) -> str | None:
    if module == STORE or module.startswith(STORE + "."):
        return STORE
    top = module.split(".")[0]
    return top if top in LAYERS else None


def _graph() -> dict[str, dict[str, set[str]]]:
    """layer -> {imported layer -> the files that import it}."""
    graph: dict[str, dict[str, set[str]]] = {}
    for top in LAYERS:
        for path in sorted((ROOT / top).rglob("*.py")):
            here = _layer(_module(path))
            for name in _imports(path):
                there = _layer(name)
                if there is not None and there != here:
                    graph.setdefault(here, {}).setdefault(there, set()).add(str(path.relative_to(ROOT)))
                if name == "ray" or name.startswith("ray."):
                    graph.setdefault(here, {}).setdefault("ray", set()).add(str(path.relative_to(ROOT)))
    return graph


GRAPH = _graph()


@pytest.mark.parametrize(
    "layer, forbidden",
    [
        ("ecgmask", ("ray", "search_spaces", "trainables", "analysis", "sweep", STORE, "benchmarks")),
        ("trainables", ("sweep", "analysis", "benchmarks")),
        ("analysis", ("sweep", "trainables", "benchmarks")),
        ("search_spaces", ("sweep", STORE, "trainables", "analysis", "benchmarks")),
        (STORE, ("sweep", "trainables", "analysis", "search_spaces", "benchmarks", "ray")),
    ],
)
def test_a_layer_imports_nothing_above_it(layer, forbidden):
    found = {there: sorted(files) for there, files in GRAPH.get(layer, {}).items() if there in forbidden}
    assert not found, f"{layer} imports {found}"


def test_no_circle_between_layers():
    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for there in GRAPH.get(todo.pop(), {}):
                if there not in seen:
                    seen.add(there)
                    todo.append(there)
        return seen

    circles = sorted(layer for layer in GRAPH if layer in reach(layer))
    assert not circles, {layer: {t: sorted(f) for t, f in GRAPH[layer].items()} for layer in circles}


def test_the_reader_sees_the_imports_it_checks():
    # the rules above are only as good as this reading: known edges must be found
    assert "ecgmask" in GRAPH["trainables"] and STORE in GRAPH["trainables"]
    assert "trainables" in GRAPH["sweep"] and "analysis" in GRAPH["sweep"] and STORE in GRAPH["analysis"]
    assert "ray" in GRAPH["trainables"]
