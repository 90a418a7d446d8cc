"""The drawable graph of a workflow: layers, columns, loops, the end node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import journeyman
from journeyman.documents import load_document
from journeyman.workflow.document import parse_workflow
from journeyman.workflow.graph import Edge, workflow_graph

EXAMPLES = Path(journeyman.__file__).parent / "examples"


def graph_of(*steps: Any) -> Any:
    document = {"name": "Test flow", "entry_points": [{"event": "purchase"}], "steps": list(steps)}
    return workflow_graph(parse_workflow(document))


def placed(graph: Any) -> dict[str, tuple[int, int]]:
    return {n.id: (n.layer, n.column) for n in graph.nodes}


def test_a_branch_puts_both_ways_side_by_side_and_ends_meet_in_one_end_node() -> None:
    graph = graph_of(
        {"id": "first", "if": {"event_count": {"event": "purchase", "equals": 1}},
         "then": "coupon", "else": "loyal"},
        {"id": "coupon", "delay": {"days": 1}, "next": "end"},
        {"id": "loyal", "add_to_list": {"lists": ["Loyal"]}},
    )  # fmt: skip
    assert placed(graph) == {"first": (0, 0), "coupon": (1, 0), "loyal": (1, 1), "end": (2, 0)}
    assert {(e.source, e.branch, e.target) for e in graph.edges} == {
        ("first", "then", "coupon"),
        ("first", "else", "loyal"),
        ("coupon", "next", "end"),
        ("loyal", "next", "end"),
    }
    assert graph.entries == ("event: purchase",)
    kinds = {n.id: n.kind for n in graph.nodes}
    assert kinds == {"first": "if", "coupon": "delay", "loyal": "add_to_list", "end": "end"}


def test_a_step_stands_below_every_step_that_leads_to_it() -> None:
    # join is reached from first directly and through middle: the longer path places it.
    graph = graph_of(
        {"id": "first", "if": {"event_count": {"event": "purchase", "equals": 1}},
         "then": "join", "else": "middle"},
        {"id": "middle", "delay": {"days": 1}, "next": "join"},
        {"id": "join", "delay": {"days": 2}},
    )  # fmt: skip
    layers = {n.id: n.layer for n in graph.nodes}
    assert layers["join"] == 2 and layers["middle"] == 1


def test_a_go_to_loop_is_a_back_edge_and_does_not_push_its_target_down() -> None:
    graph = graph_of(
        {"id": "wait", "delay": {"days": 1}, "next": "check"},
        {"id": "check", "if": {"event_count": {"event": "purchase", "at_least": 3}},
         "then": "end", "else": "again"},
        {"id": "again", "go_to": "wait"},
    )  # fmt: skip
    assert placed(graph) == {"wait": (0, 0), "check": (1, 0), "again": (2, 0), "end": (3, 0)}
    loop = next(e for e in graph.edges if e.source == "again")
    assert loop == Edge(source="again", branch="go_to", target="wait", back=True)
    assert [e for e in graph.edges if e.back] == [loop]


def test_a_disabled_step_and_a_step_name_are_kept() -> None:
    graph = graph_of(
        {"id": "pause", "name": "Wait a day", "delay": {"days": 1}, "disabled": True},
    )
    node = graph.nodes[0]
    assert (node.id, node.name, node.disabled) == ("pause", "Wait a day", True)


def test_thousands_of_steps_in_a_chain_are_laid_out_without_recursion() -> None:
    steps = [{"id": f"s{i}", "delay": {"days": 1}, "next": f"s{i + 1}"} for i in range(4999)]
    steps.append({"id": "s4999", "delay": {"days": 1}})
    graph = graph_of(*steps)
    assert [n.layer for n in graph.nodes] == list(range(5001))


def test_every_step_of_the_example_with_every_action_is_placed_once() -> None:
    workflow = parse_workflow(load_document(EXAMPLES / "every-action.yaml"))
    graph = workflow_graph(workflow)
    ids = [n.id for n in graph.nodes]
    assert sorted(ids) == sorted([*workflow.steps, "end"])
    cells = [(n.layer, n.column) for n in graph.nodes]
    assert len(set(cells)) == len(cells)
    layer = {n.id: n.layer for n in graph.nodes}
    for edge in graph.edges:
        if not edge.back:
            assert layer[edge.target] > layer[edge.source], edge
    assert graph.entries == ("event: order_created, where: {amount: {gt: 0}}",)
