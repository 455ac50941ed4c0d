"""The package's layers (docs/architecture.md): every import goes down, never up.

Read from the source with `ast`, lazy imports inside functions included, imports for
annotations only (`if TYPE_CHECKING:`) left out. The few upward
calls that exist are listed below with the reason each is allowed; a new one fails here, so
the tree keeps showing the architecture.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "sagaz_dbt"

#: Highest first.  `examples` and `testing` sit outside the stack (tools over the whole thing).
LAYERS: dict[str, int] = {
    "cli": 11,
    "api": 10,
    "commands": 9,
    "outputs": 8,
    "saga": 7,
    "backups": 6,
    "engines": 5,
    "dbt": 4,
    "runtime": 3,
    "validate": 2,
    "diagnosis": 1,
    "vocabulary": 1,
    "errors": 0,
}
OUTSIDE = {"__init__", "examples", "testing"}

#: (importing module, imported part): why the upward import is allowed.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {
    ("dbt/warehouse.py", "engines"): "the warehouse names its Engine (for_adapter), lazily, once the adapter is known",
    ("dbt/session.py", "engines"): "parse registers every engine's adapter plugin (known_engines), lazily",
}


def _part(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _runtime_nodes(tree: ast.AST):
    """Every node but those under `if TYPE_CHECKING:` (annotations only, no call at run time)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            continue
        yield node
        yield from _runtime_nodes(node)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sagaz_dbt":
            dotted = node.module.split(".")
            found |= {a.name for a in node.names} if len(dotted) == 1 else {dotted[1]}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("sagaz_dbt.")}
    return found


def _edges() -> list[tuple[str, str, str]]:
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _part(path)
        for target in sorted(_imports(path)):
            if target != source and target != "__version__":
                edges.append((str(path.relative_to(PACKAGE)), source, target))
    return edges


def test_every_part_has_a_layer() -> None:
    parts = {_part(p) for p in PACKAGE.rglob("*.py")}
    assert parts - OUTSIDE <= set(LAYERS), f"give these a layer: {sorted(parts - OUTSIDE - set(LAYERS))}"


@pytest.mark.parametrize("module, source, target", _edges())
def test_imports_go_down(module: str, source: str, target: str) -> None:
    if source in OUTSIDE or target in OUTSIDE - {"__init__"}:
        return
    assert target in LAYERS, f"{module} imports {target}, which has no layer"
    if LAYERS[target] < LAYERS[source] or (module, target) in ALLOWED_UPWARD:
        return
    pytest.fail(f"{module} ({source}, layer {LAYERS[source]}) imports {target} (layer {LAYERS[target]}): up or sideways")
