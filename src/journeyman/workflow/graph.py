"""A workflow as a drawable graph: steps placed in layers, the ways out as edges (pure).

Layers follow the longest path from the first step, so a step stands below every step that
leads to it. A ``go_to`` loop (an edge back to a step on the path that reached its source) is
kept as an edge marked ``back`` and does not push its target down. Every way out to ``end``
meets one end node below the deepest step. The web UI draws this; ``GET
/api/v1/workflows/{key}/graph`` serves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from journeyman.workflow.document import END, Workflow


@dataclass(frozen=True, kw_only=True)
class Node:
    id: str
    kind: str  # a step kind, or "end"
    name: str | None
    disabled: bool
    layer: int
    column: int


@dataclass(frozen=True, kw_only=True)
class Edge:
    source: str
    branch: str
    target: str  # a step id, or "end"
    back: bool  # leads back up (a loop)


@dataclass(frozen=True, kw_only=True)
class Graph:
    entries: tuple[str, ...]  # each entry point, summarised on one line
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def workflow_graph(workflow: Workflow) -> Graph:
    order, back = _walk(workflow)
    edges = tuple(
        Edge(
            source=step_id,
            branch=branch,
            target=END if target is None else target,
            back=(step_id, branch) in back,
        )
        for step_id in order
        for branch, target in workflow.steps[step_id].targets.items()
    )
    layer = _layers(order, edges)
    ends = any(e.target == END for e in edges)
    if ends:
        layer[END] = max(layer.values()) + 1
    columns: dict[int, int] = {}
    nodes = []
    for node_id in [*order, *([END] if ends else [])]:
        depth = layer[node_id]
        column = columns.get(depth, 0)
        columns[depth] = column + 1
        step = workflow.steps.get(node_id)
        nodes.append(
            Node(
                id=node_id,
                kind=step.kind if step else END,
                name=step.name if step else None,
                disabled=step.disabled if step else False,
                layer=depth,
                column=column,
            )
        )
    entries = tuple(_entry_line(e) for e in workflow.document.get("entry_points", ()))
    return Graph(entries=entries, nodes=tuple(nodes), edges=edges)


def _walk(workflow: Workflow) -> tuple[list[str], set[tuple[str, str]]]:
    """The steps in depth-first order from the first, and the (step, branch) pairs whose edge
    leads back to a step still on the path. Iterative: a workflow may have thousands of steps."""
    order = [workflow.first_step]
    back: set[tuple[str, str]] = set()
    seen = {workflow.first_step}
    path = [(workflow.first_step, iter(workflow.steps[workflow.first_step].targets.items()))]
    on_path = {workflow.first_step}
    while path:
        step_id, ways = path[-1]
        for branch, target in ways:
            if target is None:
                continue
            if target in on_path:
                back.add((step_id, branch))
            elif target not in seen:
                seen.add(target)
                on_path.add(target)
                order.append(target)
                path.append((target, iter(workflow.steps[target].targets.items())))
                break
        else:
            path.pop()
            on_path.discard(step_id)
    order += [s for s in workflow.steps if s not in seen]  # validation forbids these
    return order, back


def _layers(order: list[str], edges: tuple[Edge, ...]) -> dict[str, int]:
    """Longest path over the forward edges, in topological order (Kahn): without the back
    edges they form a DAG."""
    following: dict[str, list[str]] = {s: [] for s in order}
    waiting = dict.fromkeys(order, 0)
    for edge in edges:
        if not edge.back and edge.target != END:
            following[edge.source].append(edge.target)
            waiting[edge.target] += 1
    layer = dict.fromkeys(order, 0)
    ready = [s for s in order if waiting[s] == 0]
    while ready:
        step_id = ready.pop()
        for target in following[step_id]:
            layer[target] = max(layer[target], layer[step_id] + 1)
            waiting[target] -= 1
            if waiting[target] == 0:
                ready.append(target)
    return layer


def _entry_line(entry: Mapping[str, Any]) -> str:
    """``{"event": "purchase", "where": {...}}`` -> ``event: purchase, where: {...}``."""
    return ", ".join(
        f"{name}: {_compact(value)}" for name, value in entry.items() if value not in ({}, [])
    )


def _compact(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_compact(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # the stored document keeps numbers as floats
    return str(value)
