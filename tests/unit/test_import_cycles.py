"""No two journeyman modules import each other, directly or through others, even inside a
function: a cycle means two modules that cannot be understood, or layered, apart.

Read from the source with ``ast``. ``from package import name`` counts as an import of the
submodule ``package.name`` when there is one, else of the package. The root
``journeyman/__init__.py`` is left out: it re-exports the public API and nothing imports it
for its own sake.
"""

from __future__ import annotations

import ast
from pathlib import Path

import journeyman

PACKAGE = Path(journeyman.__file__).parent


def module_names() -> dict[str, Path]:
    names: dict[str, Path] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imported(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            for alias in node.names:
                name = f"{base}.{alias.name}"
                found.add(name if name in modules else base)
    return {name for name in found if name in modules} - {"journeyman", module}


def cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    """A chain of imports from ``start`` back to it, if there is one."""
    paths = {start: [start]}
    stack = [start]
    while stack:
        current = stack.pop()
        for target in sorted(graph[current]):
            if target == start:
                return [*paths[current], start]
            if target not in paths:
                paths[target] = [*paths[current], target]
                stack.append(target)
    return None


def test_no_journeyman_modules_import_each_other() -> None:
    modules = module_names()
    graph = {name: imported(name, path, modules) for name, path in modules.items()}
    cycles = {name: chain for name in graph if (chain := cycle_from(name, graph))}
    assert not cycles, "\n".join(" -> ".join(chain) for chain in cycles.values())
