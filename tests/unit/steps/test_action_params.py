"""Parameters of the action step kinds (update_attribute, blocklist, go_to, start_workflow,
record_conversion): what a workflow document may say, refused with the step id and the field;
and their pure batch functions, one outcome per run with the reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from journeyman.clock import UTC
from journeyman.conditions import Facts
from journeyman.errors import InvalidWorkflow, Problem
from journeyman.model.contacts import AttributeDefinition, AttributeType, ContactView
from journeyman.model.effects import (
    AddToAttribute,
    Blocklist,
    RecordConversion,
    SetAttribute,
    StartRun,
)
from journeyman.model.runs import RunView
from journeyman.steps.base import StepEnv, StepItem, WorkflowInfo
from journeyman.steps.contacts import (
    BlocklistContact,
    BlocklistParams,
    UpdateAttribute,
    UpdateAttributeParams,
)
from journeyman.steps.flow import GoTo
from journeyman.steps.workflows import (
    MAX_CHAIN,
    RecordConversionParams,
    RecordConversionStep,
    StartWorkflow,
    StartWorkflowParams,
)
from journeyman.workflow.document import Workflow, parse_workflow

NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
ATTRIBUTES = {
    "LEAD_SCORE": AttributeDefinition(name="LEAD_SCORE", type=AttributeType.NUMBER),
    "NICKNAME": AttributeDefinition(name="NICKNAME", type=AttributeType.TEXT),
    "VIP": AttributeDefinition(name="VIP", type=AttributeType.BOOLEAN),
}
WORKFLOWS = {
    "wf": WorkflowInfo(key="wf", status="active", steps=frozenset({"s"})),
    "other": WorkflowInfo(key="other", status="active", steps=frozenset({"first", "second"})),
    "paused": WorkflowInfo(key="paused", status="paused", steps=frozenset({"first"})),
}
ENV = StepEnv(
    now=NOW,
    workflow_key="wf",
    workflow_id=3,
    step_id="s",
    list_ids={},
    secret=b"secret",
    attributes=ATTRIBUTES,
    workflows=WORKFLOWS,
)


def document(*steps: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": "wf",
        "name": "Actions",
        "entry_points": [{"event": "signup"}],
        "steps": list(steps),
    }


def parse_step(step: dict[str, Any]) -> Workflow:
    return parse_workflow(document({"id": "s", **step}))


def problems(step: dict[str, Any]) -> list[Problem]:
    with pytest.raises(InvalidWorkflow) as caught:
        parse_step(step)
    return list(caught.value.problems)


def fields(step: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    return [(p.step, p.field) for p in problems(step)]


def item(
    run_id: int,
    *,
    contact: ContactView | None = None,
    event: dict[str, Any] | None = None,
    seq: int = 0,
    context: dict[str, Any] | None = None,
) -> StepItem:
    run = RunView(
        run_id=run_id,
        workflow_id=3,
        version_id=4,
        contact_id=contact.id if contact else run_id + 100,
        step_id="s",
        seq=seq,
        trigger_event_id=run_id + 1000,
        context=context or {},
    )
    return StepItem(run=run, contact=contact, facts=Facts(), event=event)


# --- update_attribute ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"set": "x"},
        {"set": 5},
        {"set": False},
        {"set": "{{ contact.FIRSTNAME }}"},
        {"clear": True},
        {"add": 5},
        {"add": 0.5},
        {"subtract": 2},
    ],
)
def test_update_attribute_takes_exactly_one_change(change: dict[str, Any]) -> None:
    workflow = parse_step({"update_attribute": {"name": "lead_score", **change}})

    assert workflow.steps["s"].kind == "update_attribute"
    assert workflow.references() == {"attributes": {"LEAD_SCORE": ["s"]}}


@pytest.mark.parametrize(
    ("change", "given"),
    [
        ({}, "none"),
        ({"clear": False}, "none"),
        ({"set": "x", "add": 1}, "['set', 'add']"),
        ({"clear": True, "set": "x"}, "['set', 'clear']"),
        ({"add": 1, "subtract": 1}, "['add', 'subtract']"),
    ],
)
def test_update_attribute_refuses_none_or_several_changes(
    change: dict[str, Any], given: str
) -> None:
    (problem,) = problems({"update_attribute": {"name": "LEAD_SCORE", **change}})

    assert (problem.step, problem.field) == ("s", "update_attribute")
    assert problem.message == f"give exactly one of set, clear, add, subtract; got {given}"


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"name": "", "clear": True}, "update_attribute.name", "at least 1 character"),
        ({"clear": True}, "update_attribute.name", "Field required"),
        ({"name": "X", "add": "5"}, "update_attribute.add", "valid number"),
        ({"name": "X", "add": True}, "update_attribute.add", "valid number"),
        ({"name": "X", "subtract": float("inf")}, "update_attribute.subtract", "finite"),
        ({"name": "X", "add": float("nan")}, "update_attribute.add", "finite"),
        ({"name": "X", "set": float("nan")}, "update_attribute", "not a finite number"),
        ({"name": "X", "set": "{{ contact."}, "update_attribute", "set: template error"),
        ({"name": "X", "clear": True, "value": 1}, "update_attribute.value", "unknown field"),
    ],
)
def test_bad_update_attribute_parameters_name_the_field(
    params: dict[str, Any], field: str, words: str
) -> None:
    (problem,) = problems({"update_attribute": params})

    assert (problem.step, problem.field) == ("s", field)
    assert words in problem.message


def test_subtract_is_a_negative_delta() -> None:
    assert UpdateAttributeParams(name="X", subtract=2).delta == -2
    assert UpdateAttributeParams(name="X", add=2.5).delta == 2.5
    assert UpdateAttributeParams(name="X", set=1).delta is None


def test_update_attribute_set_renders_and_type_checks_per_run() -> None:
    params = UpdateAttributeParams(name="lead_score", set="{{ event.properties.score }}")
    jane = ContactView(id=7, email="jane@example.com")
    items = [
        item(1, contact=jane, event={"properties": {"score": "42"}}),
        item(2, contact=jane, event={"properties": {"score": "lots"}}),
        item(3, contact=jane, event={"properties": {"score": "nan"}}),
    ]

    good, bad, not_finite = UpdateAttribute().run(params, items, ENV)

    assert good.effects == (SetAttribute(contact_id=7, name="LEAD_SCORE", value=42),)
    assert (good.result, good.reason, good.branch) == ("changed", "set LEAD_SCORE to 42", "next")
    assert bad.fail and bad.effects == ()
    assert bad.reason == "attribute LEAD_SCORE: expected a number, got 'lots'"
    assert not_finite.fail and not_finite.effects == ()
    assert "LEAD_SCORE" in not_finite.reason and "'nan'" in not_finite.reason


def test_update_attribute_set_from_the_contact_and_clear() -> None:
    jane = ContactView(id=7, email="jane@example.com", attributes={"FIRSTNAME": "Jane"})
    (named,) = UpdateAttribute().run(
        UpdateAttributeParams(name="NICKNAME", set="{{ contact.FIRSTNAME }} the Great"),
        [item(1, contact=jane)],
        ENV,
    )
    (cleared,) = UpdateAttribute().run(
        UpdateAttributeParams(name="VIP", clear=True), [item(2)], ENV
    )

    assert named.effects == (SetAttribute(contact_id=7, name="NICKNAME", value="Jane the Great"),)
    assert cleared.effects == (SetAttribute(contact_id=102, name="VIP", value=None),)
    assert cleared.reason == "cleared VIP"


def test_update_attribute_add_and_subtract_are_deltas_for_the_database() -> None:
    added = UpdateAttribute().run(
        UpdateAttributeParams(name="LEAD_SCORE", add=5), [item(1), item(2)], ENV
    )
    (subtracted,) = UpdateAttribute().run(
        UpdateAttributeParams(name="LEAD_SCORE", subtract=1.5), [item(3)], ENV
    )

    assert [o.effects for o in added] == [
        (AddToAttribute(contact_id=101, name="LEAD_SCORE", delta=5),),
        (AddToAttribute(contact_id=102, name="LEAD_SCORE", delta=5),),
    ]
    assert added[0].reason == "added 5 to LEAD_SCORE"
    assert subtracted.reason == "subtracted 1.5 from LEAD_SCORE"


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        (UpdateAttributeParams(name="NICKNAME", add=1), "attribute NICKNAME is text, not a number"),
        (UpdateAttributeParams(name="GONE", set=1), "attribute GONE is not defined"),
    ],
)
def test_update_attribute_fails_every_run_it_cannot_serve(
    params: UpdateAttributeParams, reason: str
) -> None:
    outcomes = UpdateAttribute().run(params, [item(1), item(2)], ENV)

    assert [(o.fail, o.result, o.reason, o.effects) for o in outcomes] == [
        (True, "failed", reason, ())
    ] * 2


# --- blocklist ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channels", "email", "sms", "what"),
    [
        ("email", True, False, "email"),
        ("sms", False, True, "SMS"),
        ("both", True, True, "email and SMS"),
    ],
)
def test_blocklist_channels(channels: str, email: bool, sms: bool, what: str) -> None:
    params = parse_step({"blocklist": {"channels": channels}}).steps["s"].params

    (outcome,) = BlocklistContact().run(params, [item(1)], ENV)

    assert outcome.effects == (Blocklist(contact_id=101, email=email, sms=sms),)
    assert (outcome.result, outcome.reason) == ("blocklisted", f"blocklisted for {what}")


def test_blocklist_defaults_to_both_channels() -> None:
    assert parse_step({"blocklist": {}}).steps["s"].params == BlocklistParams(channels="both")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"channels": "fax"}, "blocklist.channels"),
        ({"channels": ["email", "sms"]}, "blocklist.channels"),
        ({"channel": "email"}, "blocklist.channel"),
    ],
)
def test_bad_blocklist_channels_are_refused(params: dict[str, Any], field: str) -> None:
    assert fields({"blocklist": params}) == [("s", field)]


# --- go_to --------------------------------------------------------------------------------


def test_go_to_names_its_target_and_jumps() -> None:
    workflow = parse_workflow(
        document({"id": "a", "delay": {"days": 1}, "next": "b"}, {"id": "b", "go_to": "a"})
    )

    assert workflow.target("b", "go_to") == "a"
    (outcome,) = GoTo().run(workflow.steps["b"].params, [item(1)], ENV)
    assert (outcome.result, outcome.branch, outcome.reason) == ("jumped", "go_to", "go to a")


def test_go_to_end_ends_the_run() -> None:
    assert parse_step({"go_to": "end"}).target("s", "go_to") is None


@pytest.mark.parametrize(
    ("step", "field", "words"),
    [
        ({"go_to": "nowhere"}, "go_to", "'nowhere' is not a step"),
        ({"go_to": "not an id"}, "go_to", "should match pattern"),
        ({"go_to": "s", "next": "s"}, "next", "unknown field"),
    ],
)
def test_bad_go_to_is_refused_on_its_field(step: dict[str, Any], field: str, words: str) -> None:
    (problem,) = problems(step)

    assert (problem.step, problem.field) == ("s", field)
    assert words in problem.message


# --- start_workflow -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"workflow": ""}, "start_workflow.workflow"),
        ({"workflow": "Not A Key"}, "start_workflow.workflow"),
        ({"workflow": "other", "step": "no such step!"}, "start_workflow.step"),
        ({}, "start_workflow.workflow"),
        ({"workflow": "other", "at": "first"}, "start_workflow.at"),
    ],
)
def test_bad_start_workflow_parameters_name_the_field(params: dict[str, Any], field: str) -> None:
    assert fields({"start_workflow": params}) == [("s", field)]


def test_start_workflow_references_its_target() -> None:
    workflow = parse_step({"start_workflow": {"workflow": "other", "step": "second"}})

    assert workflow.references() == {"workflows": {"other": ["s"]}}


def test_start_workflow_starts_with_the_chain_and_the_trigger_event() -> None:
    params = StartWorkflowParams(workflow="other", step="second")

    (outcome,) = StartWorkflow().run(params, [item(1)], ENV)

    assert outcome.effects == (
        StartRun(
            contact_id=101,
            workflow_key="other",
            step_id="second",
            chain=("wf", "other"),
            trigger_event_id=1001,
        ),
    )
    assert (outcome.result, outcome.reason) == ("started", "started workflow other at second")


@pytest.mark.parametrize(
    ("params", "context", "reason"),
    [
        (
            StartWorkflowParams(workflow="missing"),
            None,
            "workflow missing does not exist",
        ),
        (
            StartWorkflowParams(workflow="paused"),
            None,
            "workflow paused is paused, not active",
        ),
        (
            StartWorkflowParams(workflow="other", step="third"),
            None,
            "workflow other has no step third",
        ),
        (
            StartWorkflowParams(workflow="wf"),
            None,
            "not started: endless recursion stopped (wf -> wf)",
        ),
        (
            StartWorkflowParams(workflow="other"),
            {"chain": ["other", "wf"]},
            "not started: endless recursion stopped (other -> wf -> other)",
        ),
    ],
)
def test_start_workflow_refusals_let_the_run_go_on(
    params: StartWorkflowParams, context: dict[str, Any] | None, reason: str
) -> None:
    (outcome,) = StartWorkflow().run(params, [item(1, context=context)], ENV)

    assert (outcome.result, outcome.reason, outcome.effects) == ("refused", reason, ())
    assert not outcome.fail and outcome.branch == "next"


def test_a_long_chain_of_distinct_workflows_is_stopped_too() -> None:
    chain = [f"w{i}" for i in range(MAX_CHAIN - 1)] + ["wf"]

    (outcome,) = StartWorkflow().run(
        StartWorkflowParams(workflow="other"), [item(1, context={"chain": chain})], ENV
    )

    assert outcome.result == "refused" and "endless recursion" in outcome.reason


# --- record_conversion --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "value", "currency"),
    [
        ({"name": "purchase"}, 0.0, "EUR"),
        ({"name": "purchase", "value": 49.9, "currency": "USD"}, 49.9, "USD"),
        ({"name": "purchase", "value": 10}, 10.0, "EUR"),
        ({"name": "purchase", "value": 0}, 0.0, "EUR"),
    ],
)
def test_record_conversion_fixed_values(
    params: dict[str, Any], value: float, currency: str
) -> None:
    parsed = parse_step({"record_conversion": params}).steps["s"].params

    assert (parsed.value, parsed.currency) == (value, currency)


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"name": "p", "value": -1}, "record_conversion", "worth 0 or more"),
        ({"name": "p", "value": -0.01}, "record_conversion", "worth 0 or more"),
        ({"name": "p", "value": float("nan")}, "record_conversion", "not a finite number"),
        ({"name": "p", "value": float("inf")}, "record_conversion", "not a finite number"),
        ({"name": "p", "value": True}, "record_conversion.value", "not True"),
        ({"name": "p", "currency": "eur"}, "record_conversion.currency", "pattern"),
        ({"name": "p", "currency": "EURO"}, "record_conversion.currency", "pattern"),
        ({"name": "p", "currency": "€"}, "record_conversion.currency", "pattern"),
        ({"name": ""}, "record_conversion.name", "at least 1 character"),
        ({"value": 1}, "record_conversion.name", "Field required"),
    ],
)
def test_bad_record_conversion_parameters_name_the_field(
    params: dict[str, Any], field: str, words: str
) -> None:
    found = problems({"record_conversion": params})

    assert {(p.step, p.field) for p in found} == {("s", field)}
    assert any(words in p.message for p in found)


def test_record_conversion_from_event_names_a_property() -> None:
    params = parse_step(
        {"record_conversion": {"name": "p", "value": {"from_event": "order.total"}}}
    )

    assert params.steps["s"].handler.needs(params.steps["s"].params).event
    refused = problems({"record_conversion": {"name": "p", "value": {"from_event": ""}}})
    assert {p.step for p in refused} == {"s"}
    assert all(p.field and p.field.startswith("record_conversion.value") for p in refused)


def test_record_conversion_keys_each_visit_and_reads_the_event() -> None:
    params = RecordConversionParams.model_validate(
        {"name": "purchase", "value": {"from_event": "order.total"}, "currency": "USD"}
    )
    event = {"properties": {"order": {"total": "19.5"}}}

    (outcome,) = RecordConversionStep().run(params, [item(1, event=event, seq=4)], ENV)

    assert outcome.effects == (
        RecordConversion(
            key="1:s:4",
            run_id=1,
            contact_id=101,
            workflow_id=3,
            step_id="s",
            name="purchase",
            value=19.5,
            currency="USD",
        ),
    )
    assert (outcome.result, outcome.reason) == ("converted", "conversion purchase: 19.5 USD")


@pytest.mark.parametrize(
    ("properties", "words"),
    [
        ({}, "amount = None: not a number"),
        ({"amount": "lots"}, "amount = 'lots': not a number"),
        ({"amount": True}, "amount = True: not a number"),
        ({"amount": -5}, "amount = -5: a conversion is worth 0 or more"),
        ({"amount": "nan"}, "amount = 'nan': nan is not a finite number"),
    ],
)
def test_a_bad_event_value_fails_the_run_with_the_reason(
    properties: dict[str, Any], words: str
) -> None:
    params = RecordConversionParams.model_validate({"name": "p", "value": {"from_event": "amount"}})

    (outcome,) = RecordConversionStep().run(
        params, [item(1, event={"properties": properties})], ENV
    )

    assert outcome.fail and outcome.effects == ()
    assert outcome.reason == f"event property {words}"
