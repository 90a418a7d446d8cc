"""One template context for every step: the contact, the trigger event, the answers of the
run's webhooks, the workflow and the step, whatever the step renders."""

from __future__ import annotations

import datetime as dt
from types import MappingProxyType
from typing import Any

import pytest

from journeyman import template_limits
from journeyman.clock import UTC
from journeyman.conditions import Facts
from journeyman.model.contacts import AttributeDefinition, AttributeType, ContactView
from journeyman.model.runs import Outcome, RunView
from journeyman.steps.base import StepEnv, StepItem
from journeyman.steps.registry import REGISTRY

NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
ENV = StepEnv(
    now=NOW,
    workflow_key="welcome",
    step_id="greet",
    list_ids={},
    secret=b"secret",
    attributes={"NOTE": AttributeDefinition(name="NOTE", type=AttributeType.TEXT)},
)
EVERYTHING = (
    "{{ contact.FIRSTNAME }}/{{ event.name }}/{{ event.properties.sku }}/"
    "{{ webhook.check.json.code }}/{{ workflow.key }}/{{ step }}/{{ unique_code('C-', 4)|length }}"
)
EXPECTED = "Jane/purchase/A7/XY-1/welcome/greet/6"


def item(context: dict[str, Any] | None = None) -> StepItem:
    return StepItem(
        run=RunView(
            run_id=7,
            workflow_id=1,
            version_id=1,
            contact_id=3,
            step_id="greet",
            seq=2,
            context=MappingProxyType(
                context
                if context is not None
                else {"webhook": {"check": {"ok": True, "status": 200, "json": {"code": "XY-1"}}}}
            ),
        ),
        contact=ContactView(
            id=3, email="jane@example.com", attributes={"FIRSTNAME": "Jane"}, sms="+33612345678"
        ),
        facts=Facts(),
        event={"name": "purchase", "properties": {"sku": "A7"}},
    )


def rendered(outcome: Outcome) -> str:
    (effect,) = outcome.effects
    for field in ("value", "subject", "text", "title", "name"):
        if isinstance(getattr(effect, field, None), str):
            return str(getattr(effect, field))
    payload = getattr(effect, "payload", None) or {}
    return str(payload.get("body") or payload.get("parameters", [""])[0])


STEPS = {
    "update_attribute": {"name": "NOTE", "set": EVERYTHING},
    "send_email": {"subject": EVERYTHING, "html": "<p>Hi</p>"},
    "send_sms": {"text": EVERYTHING},
    "send_whatsapp": {"template": "hello", "parameters": [EVERYTHING]},
    "send_notification": {"to": ["team@example.com"], "subject": EVERYTHING},
    "create_task": {"title": EVERYTHING},
    "create_deal": {"name": EVERYTHING, "pipeline": "sales", "stage": "new"},
    "call_webhook": {"url": "https://hooks.example.com/x", "body": EVERYTHING},
}


@pytest.mark.parametrize("kind", STEPS)
def test_every_step_renders_its_templates_with_the_same_variables(kind: str) -> None:
    handler = REGISTRY.get(kind)
    params = handler.params.model_validate(STEPS[kind])

    (outcome,) = handler.run(params, [item()], ENV)

    assert not outcome.fail, outcome.reason
    assert rendered(outcome) == EXPECTED


def test_a_set_that_renders_nothing_fails_the_step_and_keeps_the_value() -> None:
    handler = REGISTRY.get("update_attribute")
    params = handler.params.model_validate({"name": "NOTE", "set": "{{ webhook.check.json.x }}"})

    (outcome,) = handler.run(params, [item(context={})], ENV)

    assert outcome.fail and outcome.effects == ()
    assert outcome.reason == (
        "set NOTE: the template rendered nothing, so NOTE was kept (to clear it, write clear: true)"
    )


def test_a_render_over_a_limit_fails_the_step_with_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(template_limits, "MAX_RENDER_SECONDS", 10.0)  # the loop limit, not time
    handler = REGISTRY.get("send_sms")
    params = handler.params.model_validate(
        {"text": "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}"}
    )

    (outcome,) = handler.run(params, [item()], ENV)

    assert (outcome.result, outcome.fail) == ("failed", True)
    assert outcome.reason == "template exceeded 100000 loop iterations"
