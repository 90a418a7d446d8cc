"""The reference check apply, validate and activate share (pure): which names are missing,
where each is written (the step and the exact field path), and which lists apply creates."""

from __future__ import annotations

from typing import Any

import pytest

from journeyman.workflow.document import Workflow, parse_workflow
from journeyman.workflow.references import KnownNames, lists_to_create, reference_problems

KNOWN = KnownNames(
    attributes=frozenset({"BIRTHDAY", "SCORE", "MANAGER_EMAIL"}),
    users=frozenset({"alice@x.io"}),
    workflows={"other": frozenset({"first", "second"}), "versionless": None},
    lists=frozenset({"Old list"}),
)


def workflow(*steps: dict[str, Any], key: str = "me") -> Workflow:
    return parse_workflow(
        {"key": key, "name": "W", "entry_points": [{"event": "e"}], "steps": list(steps)}
    )


def found(wf: Workflow, known: KnownNames = KNOWN, *, activating: bool = True) -> list[Any]:
    return [
        (p.step, p.field, p.message) for p in reference_problems(wf, known, activating=activating)
    ]


@pytest.mark.parametrize(
    ("step", "field", "message"),
    [
        ({"update_attribute": {"name": "nope", "set": "x"}}, "update_attribute.name", "NOPE"),
        (
            {"send_notification": {"to_attribute": "boss_email"}},
            "send_notification.to_attribute",
            "BOSS_EMAIL",
        ),
        ({"wait_until": {"attribute": "signup_day"}}, "wait_until.attribute", "SIGNUP_DAY"),
    ],
)
def test_an_unknown_attribute_is_named_where_it_is_written(
    step: dict[str, Any], field: str, message: str
) -> None:
    wf = workflow({"id": "s", **step})

    assert found(wf) == [("s", field, f"attribute {message!r} does not exist")]


def test_known_names_pass() -> None:
    wf = workflow(
        {"id": "a", "update_attribute": {"name": "score", "add": 1}, "next": "b"},
        {"id": "b", "assign_user": {"user": "Alice@X.io"}, "next": "c"},
        {"id": "c", "start_workflow": {"workflow": "other", "step": "second"}, "next": "d"},
        {"id": "d", "start_workflow": {"workflow": "versionless", "step": "any"}},
    )

    assert found(wf) == []


@pytest.mark.parametrize(
    ("step", "field"),
    [
        ({"assign_user": {"user": "bob@x.io"}}, "assign_user.user"),
        ({"assign_user": {"round_robin": ["alice@x.io", "bob@x.io"]}}, "assign_user.round_robin.1"),
        (
            {
                "create_deal": {
                    "name": "D",
                    "pipeline": "p",
                    "stage": "s",
                    "owner": {"user": "bob@x.io"},
                }
            },
            "create_deal.owner.user",
        ),
        (
            {"create_task": {"title": "T", "assignee": {"round_robin": ["bob@x.io"]}}},
            "create_task.assignee.round_robin.0",
        ),
    ],
)
def test_an_unknown_user_is_named_where_it_is_written(step: dict[str, Any], field: str) -> None:
    wf = workflow({"id": "s", **step})

    assert found(wf) == [("s", field, "user 'bob@x.io' does not exist")]


def test_a_user_in_a_condition_is_named_by_its_path_in_the_tree() -> None:
    nested = {"any": [{"in_list": "L"}, {"not": {"owner": {"user": "bob@x.io"}}}]}
    wf = workflow(
        {"id": "check", "if": {"all": [{"in_list": "L"}, nested]}, "then": "pick", "else": "end"},
        {
            "id": "pick",
            "switch": {
                "branches": [
                    {"when": {"in_list": "L"}, "goto": "end"},
                    {"when": {"owner": {"user": "carol@x.io"}}, "goto": "end"},
                ],
                "default": "end",
            },
        },
    )

    assert found(wf) == [
        ("check", "if.all.1.any.1.not.owner.user", "user 'bob@x.io' does not exist"),
        ("pick", "switch.branches.1.when.owner.user", "user 'carol@x.io' does not exist"),
    ]


def test_a_missing_workflow_is_refused_only_when_activating() -> None:
    wf = workflow({"id": "go", "start_workflow": {"workflow": "later"}})
    expected = [("go", "start_workflow.workflow", "workflow 'later' does not exist")]

    assert found(wf) == expected
    assert reference_problems(wf, KNOWN, activating=False) == []


def test_a_missing_start_step_is_refused_even_for_a_draft() -> None:
    wf = workflow({"id": "go", "start_workflow": {"workflow": "other", "step": "third"}})

    (problem,) = reference_problems(wf, KNOWN, activating=False)

    assert (problem.step, problem.field) == ("go", "start_workflow.step")
    assert problem.message == "workflow 'other' has no step 'third'"


def test_a_workflow_starting_itself_is_checked_against_the_version_being_applied() -> None:
    # The stored version of "me" has only "old"; the one being applied adds "again".
    known = KnownNames(workflows={"me": frozenset({"old"})})
    wf = workflow(
        {"id": "again", "add_to_list": {"lists": "L"}, "next": "loop"},
        {"id": "loop", "start_workflow": {"workflow": "me", "step": "again"}},
    )

    assert found(wf, known) == []


def test_the_lists_apply_would_create_are_those_that_do_not_exist() -> None:
    wf = workflow(
        {"id": "a", "add_to_list": {"lists": ["Old list", "New list"]}, "next": "b"},
        {"id": "b", "if": {"in_list": "Other new"}, "then": "end", "else": "end"},
    )

    assert lists_to_create(wf, KNOWN) == ["New list", "Other new"]
    assert reference_problems(wf, KNOWN, activating=True) == []
