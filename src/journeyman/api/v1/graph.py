"""``/api/v1/workflows/{key}/graph``: a version's steps placed in layers and their ways out
as edges (``workflow.graph``), what the web UI draws, with what that version's runs did:
entered and standing on each step (a delay holds the runs waiting on it), each way out taken."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field

from journeyman.api.v1.common import v1_router
from journeyman.api.v1.workflows import RunCounts, run_counts
from journeyman.api.wire import Journeyman
from journeyman.services import browse
from journeyman.workflow.graph import workflow_graph

router = v1_router("workflows")

MAX_VERSION = 2_147_483_647  # an INTEGER column


class GraphNode(BaseModel):
    id: str = Field(description='a step id, or "end" (where the runs end)')
    kind: str = Field(description='the step kind, or "end"')
    name: str | None
    disabled: bool = Field(description="runs pass through the step")
    layer: int = Field(description="0 for the first step; a step stands below all that lead to it")
    column: int = Field(description="position within the layer, from 0")
    entered: int = Field(
        default=0, description="runs of this version that executed the step (end: completed)"
    )
    now: int = Field(
        default=0, description="runs on the step now; runs waiting on a delay count on the delay"
    )


class GraphEdge(BaseModel):
    source: str
    branch: str = Field(description="the way out: next, then, else, path_1, success, ...")
    target: str
    back: bool = Field(description="leads back up to an earlier step (a go_to loop)")
    count: int = Field(default=0, description="times runs of this version took this way out")
    waiting: int = Field(
        default=0,
        description="of count, runs still waiting on the source step (a delay logs its way out "
        "when the wait begins): count - waiting went on",
    )


class WorkflowGraph(BaseModel):
    key: str
    version: int
    entries: list[str] = Field(description="each entry point on one line")
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    runs: RunCounts = Field(description="this version's runs by status")


@router.get("/workflows/{key}/graph", response_model=WorkflowGraph)
def workflow_graph_route(
    key: str,
    app: Journeyman,
    version: Annotated[
        int | None, Query(ge=1, le=MAX_VERSION, description="default: the current version")
    ] = None,
) -> WorkflowGraph:
    """A version as a graph: steps with their layer, column and counts, ways out as edges
    with the times taken."""
    found = browse.graph_counts(app, key, version)
    graph, counts = workflow_graph(found.workflow), found.counts
    nodes = [GraphNode(**vars(n)) for n in graph.nodes]
    for node in nodes:
        if node.kind == "end":
            node.entered = counts.runs.get("completed", 0)
        else:
            node.entered = counts.entered.get(node.id, 0)
            node.now = counts.standing.get(node.id, 0)
    return WorkflowGraph(
        key=key,
        version=found.version,
        entries=list(graph.entries),
        nodes=nodes,
        edges=[
            GraphEdge(
                **vars(e),
                count=counts.branches.get((e.source, e.branch), 0),
                waiting=counts.held.get((e.source, e.branch), 0),
            )
            for e in graph.edges
        ],
        runs=run_counts(dict(counts.runs)),
    )
