"""The CRM steps' parameters (refused at apply time with the step id and the field) and their
batch functions (the effects they ask for, the reason they log)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from journeyman.clock import UTC
from journeyman.conditions import Facts
from journeyman.errors import InvalidWorkflow, Problem
from journeyman.model.contacts import ContactView
from journeyman.model.effects import AssignOwner, CreateDeal, CreateTask, OwnerChoice
from journeyman.model.runs import RunView
from journeyman.steps.base import StepEnv, StepItem
from journeyman.workflow.document import Workflow, json_schema, parse_workflow

NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
ENV = StepEnv(now=NOW, workflow_key="crm", step_id="s", list_ids={}, secret=b"secret")
DEAL = {"name": "Deal", "stage": "new"}
TASK = {"title": "Call back"}


def document(step: dict[str, Any]) -> dict[str, Any]:
    return {"key": "crm", "name": "CRM", "entry_points": [{"event": "signup"}], "steps": [step]}


def parsed(kind: str, params: Any) -> Workflow:
    return parse_workflow(document({"id": "s", kind: params}))


def only_problem(kind: str, params: Any) -> Problem:
    with pytest.raises(InvalidWorkflow) as caught:
        parsed(kind, params)
    (problem,) = caught.value.problems
    assert problem.step == "s"
    return problem


def item(run_id: int, *, event: dict[str, Any] | None = None, seq: int = 2) -> StepItem:
    contact = ContactView(
        id=run_id + 100, email=f"c{run_id}@example.com", attributes={"CITY": "Oslo"}
    )
    return StepItem(
        run=RunView(
            run_id=run_id, workflow_id=3, version_id=4, contact_id=contact.id, step_id="s", seq=seq
        ),
        contact=contact,
        facts=Facts(),
        event=event,
    )


def run_step(kind: str, params: Any, *items: StepItem) -> list[Any]:
    step = parsed(kind, params).steps["s"]
    return step.handler.run(step.params, list(items), ENV)


# --- refused at apply time ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "params", "field", "message"),
    [
        ("create_task", TASK | {"type": "lunch"}, "create_task.type", "'todo', 'call'"),
        (
            "create_task",
            TASK | {"due_in_days": -1},
            "create_task.due_in_days",
            "greater than or equal to 0",
        ),
        ("create_task", TASK | {"due_in_days": "soon"}, "create_task.due_in_days", "integer"),
        ("create_task", {"type": "call"}, "create_task.title", "required"),
        ("create_task", {"title": "Call {{ contact."}, "create_task.title", "template error"),
        ("create_deal", {"name": "Deal"}, "create_deal.stage", "required"),
        ("create_deal", DEAL | {"amount": -5}, "create_deal.amount", "0 or more"),
        ("create_deal", DEAL | {"pipeline": ""}, "create_deal.pipeline", "at least 1"),
        ("create_deal", DEAL | {"name": "{% if %}"}, "create_deal.name", "template error"),
        ("create_deal", DEAL | {"colour": "red"}, "create_deal.colour", "unknown field"),
        ("create_deal", DEAL | {"owner": "boss"}, "create_deal.owner", "expected contact_owner"),
        ("create_deal", DEAL | {"owner": {"team": "x"}}, "create_deal.owner", "{user: EMAIL}"),
        ("create_deal", DEAL | {"owner": {"user": "alice"}}, "create_deal.owner", "not a valid"),
        (
            "create_task",
            TASK | {"assignee": {"round_robin": []}},
            "create_task.assignee",
            "round_robin names no user",
        ),
        (
            "create_task",
            TASK | {"assignee": {"round_robin": ["a@x.io", "A@x.io"]}},
            "create_task.assignee",
            "a@x.io more than once",
        ),
        ("assign_user", "contact_owner", "assign_user", "expected {user: EMAIL}"),
        ("assign_user", {"user": "a@x.io", "x": 1}, "assign_user", "expected {user: EMAIL}"),
    ],
)
def test_bad_parameters_are_refused_with_the_step_and_the_field(
    kind: str, params: Any, field: str, message: str
) -> None:
    problem = only_problem(kind, params)

    assert problem.field == field
    assert message in problem.message


def test_the_owner_spec_takes_three_forms_and_emails_are_normalized() -> None:
    deal = parsed("create_deal", DEAL).steps["s"]
    fixed = parsed("create_deal", DEAL | {"owner": {"user": " Alice@Example.com "}}).steps["s"]
    rotation = parsed("assign_user", {"round_robin": ["B@x.io", "a@x.io"]}).steps["s"]

    assert deal.params.owner == "contact_owner"  # the default
    assert deal.handler.references(deal.params) == {}
    assert fixed.handler.references(fixed.params) == {"users": {"alice@example.com"}}
    assert rotation.handler.references(rotation.params) == {"users": {"a@x.io", "b@x.io"}}
    assert rotation.params.round_robin == ("b@x.io", "a@x.io")  # the order is the rotation's


def test_the_schema_describes_the_crm_steps() -> None:
    schema = json_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    good = document({"id": "s", "create_deal": DEAL | {"owner": "contact_owner"}, "next": "t"})
    good["steps"] += [
        {"id": "t", "create_task": TASK | {"assignee": {"user": "a@x.io"}}, "next": "u"},
        {"id": "u", "assign_user": {"round_robin": ["a@x.io", "b@x.io"]}},
    ]
    bad = document({"id": "s", "create_task": TASK | {"type": "lunch"}})

    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors(bad)) != []


# --- the batch functions ------------------------------------------------------------------


def test_create_deal_renders_the_name_and_takes_the_amount_from_the_event() -> None:
    params = {
        "name": "{{ contact.CITY }} deal for {{ event.properties.plan }}",
        "pipeline": "sales",
        "stage": "qualified",
        "amount": {"from_event": "order.total"},
        "owner": {"user": "alice@example.com"},
    }
    event = {"name": "signup", "properties": {"plan": "Pro", "order": {"total": "49.5"}}}

    (outcome,) = run_step("create_deal", params, item(7, event=event))

    assert outcome.result == "created" and not outcome.fail
    assert outcome.effects == (
        CreateDeal(
            source_key="7:s:2",
            contact_id=107,
            name="Oslo deal for Pro",
            pipeline="sales",
            stage="qualified",
            amount=49.5,
            owner=OwnerChoice(user="alice@example.com"),
        ),
    )
    assert outcome.reason == (
        "deal 'Oslo deal for Pro' in sales/qualified, amount 49.5, owner: alice@example.com"
    )


def test_create_deal_fails_the_run_when_the_event_has_no_amount() -> None:
    params = DEAL | {"amount": {"from_event": "total"}}

    (outcome,) = run_step("create_deal", params, item(1, event={"properties": {"total": "n/a"}}))

    assert outcome.fail and outcome.effects == ()
    assert outcome.reason == "event property total = 'n/a', not a number"


def test_create_task_is_due_in_days_and_keeps_the_rotation_of_its_step() -> None:
    params = {
        "title": "Call {{ contact.email }}",
        "type": "call",
        "due_in_days": 3,
        "assignee": {"round_robin": ["a@x.io", "b@x.io"]},
    }

    first, second = run_step("create_task", params, item(1), item(2))

    rotation = OwnerChoice(round_robin=("a@x.io", "b@x.io"), rotation="crm:s")
    assert first.effects == (
        CreateTask(
            source_key="1:s:2",
            contact_id=101,
            title="Call c1@example.com",
            type="call",
            due_at=NOW + dt.timedelta(days=3),
            assignee=rotation,
        ),
    )
    assert second.effects[0].assignee == rotation
    assert first.reason == (
        "call task 'Call c1@example.com' due 2027-01-07, assignee: round-robin over a@x.io, b@x.io"
    )


def test_assign_user_asks_for_the_owner_of_every_contact() -> None:
    outcomes = run_step("assign_user", {"user": "a@x.io"}, item(1), item(2))

    assert [o.effects for o in outcomes] == [
        (AssignOwner(contact_id=101, owner=OwnerChoice(user="a@x.io")),),
        (AssignOwner(contact_id=102, owner=OwnerChoice(user="a@x.io")),),
    ]
    assert {o.reason for o in outcomes} == {"owner: a@x.io"}


def test_a_plain_name_needs_no_contact_and_a_template_does() -> None:
    plain = parsed("create_deal", DEAL).steps["s"]
    templated = parsed("create_task", {"title": "Call {{ contact.email }}"}).steps["s"]

    assert not plain.handler.needs(plain.params).contact
    assert templated.handler.needs(templated.params).contact
