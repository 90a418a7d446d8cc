"""The pure layers import nothing from the store, the channels, the CLI or the app.

Read from the source with ``ast`` (not by importing), following ``journeyman`` imports
transitively, so a forbidden import is found even when it hides in a helper module or inside
a function. The root ``journeyman/__init__.py`` is left out of the walk: it re-exports the
public API (App included) and is not what a pure module depends on.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import journeyman

PACKAGE = Path(journeyman.__file__).parent
PURE = (
    "journeyman.model",
    "journeyman.workflow",
    "journeyman.conditions",
    "journeyman.steps",
    "journeyman.templating",
    "journeyman.template_limits",
    "journeyman.template_filters",
    "journeyman.engine.triggers",
)
FORBIDDEN = ("journeyman.store", "journeyman.channels", "journeyman.cli", "journeyman.app")


def source_of(module: str) -> Path | None:
    relative = Path(*module.split(".")[1:])
    for candidate in (PACKAGE / relative / "__init__.py", (PACKAGE / relative).with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imports_of(module: str) -> set[str]:
    """Every module ``module`` imports (absolute names), including parent packages."""
    path = source_of(module)
    assert path is not None, f"no source for {module}"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package_of(module, path).split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # submodules
    expanded: set[str] = set()
    for name in found:
        parts = name.split(".")
        expanded.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
    return {m for m in expanded if m.startswith("journeyman.") and source_of(m)}


def modules_under(name: str) -> list[str]:
    path = source_of(name)
    assert path is not None, f"{name} does not exist"
    if path.name != "__init__.py":
        return [name]
    return [name] + [
        f"{name}.{'.'.join(p.relative_to(path.parent).with_suffix('').parts)}"
        for p in sorted(path.parent.rglob("*.py"))
        if p.name != "__init__.py"
    ]


def import_chains(start: str) -> dict[str, list[str]]:
    """Every journeyman module reachable from ``start``, with the chain that reaches it."""
    chains = {start: [start]}
    todo = [start]
    while todo:
        current = todo.pop()
        for name in sorted(imports_of(current)):
            if name not in chains:
                chains[name] = [*chains[current], name]
                todo.append(name)
    return chains


def forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f"{f}.") for f in FORBIDDEN)


@pytest.mark.parametrize("module", [m for layer in PURE for m in modules_under(layer)])
def test_pure_modules_do_not_reach_io_layers(module: str) -> None:
    chains = import_chains(module)

    bad = {name: " -> ".join(chain) for name, chain in chains.items() if forbidden(name)}

    assert bad == {}


def test_the_walk_finds_imports_it_should() -> None:
    """A check on the checker: the stepper does import the store, through any form."""
    assert "journeyman.store.runs" in import_chains("journeyman.engine.stepper")
    assert "journeyman.store" in imports_of("journeyman.engine.facts")
    assert "journeyman.steps.registry" in imports_of("journeyman.workflow.document")
    assert forbidden("journeyman.store.runs") and not forbidden("journeyman.steps")
