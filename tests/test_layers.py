"""The architecture, checked: each package imports only from lower layers, and no module
imports itself back through others.

Every ``import`` statement of ``src/cxkpi`` counts, those inside functions and under
``TYPE_CHECKING`` included: a late import hides a dependency from the reader, not from
this test. The layers are also written in the README's layout section.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = SRC / "cxkpi"

# lowest first; packages of one layer never import each other
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"__init__", "config", "schema"}),
    frozenset({"warehouse"}),
    frozenset({"ingest", "kpi"}),
    frozenset({"analytics", "access"}),
    frozenset({"service"}),
    frozenset({"demo", "web"}),
    frozenset({"api", "dashboard"}),
    frozenset({"server"}),
    frozenset({"cli"}),
)
LAYER = {package: i for i, layer in enumerate(LAYERS) for package in layer}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _resolve(module: str, base: str, names: list[str]) -> Iterator[str]:
    """The cxkpi modules an import statement loads (``from pkg import submodule`` included)."""
    if base not in MODULES:
        return
    is_package = MODULES[base].name == "__init__.py"
    sub = [f"{base}.{n}" for n in names if is_package and f"{base}.{n}" in MODULES]
    yield from sub
    if len(sub) < len(names) or not names:
        yield base


def imports_of(module: str) -> set[str]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("cxkpi"):
                    found |= set(_resolve(module, alias.name, []))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.startswith("cxkpi"):
                found |= set(_resolve(module, target, [a.name for a in node.names]))
    found.discard(module)
    return found


GRAPH = {m: imports_of(m) for m in MODULES}


def test_every_package_has_a_layer() -> None:
    packages = {package_of(m) for m in MODULES}
    assert packages <= set(LAYER), f"packages without a layer: {sorted(packages - set(LAYER))}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_lower_layers(module: str) -> None:
    mine = package_of(module)
    wrong = sorted(
        target for target in GRAPH[module]
        if package_of(target) != mine and LAYER[package_of(target)] >= LAYER[mine]
    )
    assert not wrong, f"{module} (layer {LAYER[mine]}) imports {wrong}: same or higher layer"


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle() -> None:
    assert _cycles() == []


def test_the_checker_sees_late_imports_and_cycles(tmp_path: Path) -> None:
    """The walk finds imports inside functions, and a planted cycle is reported."""
    assert "cxkpi.server" in GRAPH["cxkpi.cli.main"]  # imported inside the serve command
    saved = dict(GRAPH)
    try:
        GRAPH["cxkpi.kpi.query"] = GRAPH["cxkpi.kpi.query"] | {"cxkpi.kpi.engine"}
        assert any("cxkpi.kpi.engine" in c and "cxkpi.kpi.query" in c for c in _cycles())
    finally:
        GRAPH.clear()
        GRAPH.update(saved)
