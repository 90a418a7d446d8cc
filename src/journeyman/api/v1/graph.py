"""``/api/v1/workflows/{key}/graph``: the current version's steps placed in layers and their
ways out as edges (``model.graph``), what the web UI draws; counts come from ``/stats``."""

from __future__ import annotations

from pydantic import BaseModel, Field

from journeyman.api.v1.common import v1_router
from journeyman.api.wire import Journeyman
from journeyman.services import versions
from journeyman.workflow.document import parse_workflow
from journeyman.workflow.graph import workflow_graph

router = v1_router("workflows")


class GraphNode(BaseModel):
    id: str = Field(description='a step id, or "end" (where the runs end)')
    kind: str = Field(description='the step kind, or "end"')
    name: str | None
    disabled: bool = Field(description="runs pass through the step")
    layer: int = Field(description="0 for the first step; a step stands below all that lead to it")
    column: int = Field(description="position within the layer, from 0")


class GraphEdge(BaseModel):
    source: str
    branch: str = Field(description="the way out: next, then, else, path_1, success, ...")
    target: str
    back: bool = Field(description="leads back up to an earlier step (a go_to loop)")


class WorkflowGraph(BaseModel):
    key: str
    version: int
    entries: list[str] = Field(description="each entry point on one line")
    nodes: list[GraphNode]
    edges: list[GraphEdge]


@router.get("/workflows/{key}/graph", response_model=WorkflowGraph)
def workflow_graph_route(key: str, app: Journeyman) -> WorkflowGraph:
    """The current version as a graph: steps with their layer and column, ways out as edges."""
    current = versions.current(app, key)
    graph = workflow_graph(parse_workflow(current.document, stored=True))
    return WorkflowGraph(
        key=key,
        version=current.version,
        entries=list(graph.entries),
        nodes=[GraphNode(**vars(n)) for n in graph.nodes],
        edges=[GraphEdge(**vars(e)) for e in graph.edges],
    )
