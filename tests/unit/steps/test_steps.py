"""The batch functions of the step kinds: one outcome per run, in order, with the reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import TypeAdapter

from journeyman.clock import UTC
from journeyman.conditions import Condition, Facts
from journeyman.model.contacts import ContactView
from journeyman.model.effects import JoinList, LeaveList, QueueEmail
from journeyman.model.runs import RunView
from journeyman.steps.base import StepEnv, StepItem
from journeyman.steps.flow import IfElse
from journeyman.steps.lists import AddToList, ListParams, RemoveFromList
from journeyman.steps.messages import SendEmail, SendEmailParams
from journeyman.steps.registry import REGISTRY, Registry

NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
ENV = StepEnv(
    now=NOW, workflow_key="wf", step_id="s", list_ids={"VIP": 1, "News": 2}, secret=b"secret"
)


def item(
    run_id: int,
    *,
    contact: ContactView | None = None,
    facts: Facts | None = None,
    event: dict[str, Any] | None = None,
    seq: int = 0,
) -> StepItem:
    return StepItem(
        run=RunView(
            run_id=run_id,
            workflow_id=3,
            version_id=4,
            contact_id=contact.id if contact else run_id,
            step_id="s",
            seq=seq,
        ),
        contact=contact,
        facts=facts or Facts(),
        event=event,
    )


def contact(contact_id: int, email: str | None = "jane@example.com", **fields: Any) -> ContactView:
    return ContactView(id=contact_id, email=email, attributes={"FIRSTNAME": "Jane"}, **fields)


def test_the_registry_knows_the_kinds_and_refuses_duplicates() -> None:
    core = {"if", "go_to", "delay", "send_email", "add_to_list", "remove_from_list"}
    assert core <= set(REGISTRY.names())
    assert len(REGISTRY.names()) == len(set(REGISTRY.names()))
    with pytest.raises(ValueError, match="registered twice"):
        Registry([AddToList(), AddToList()])


def test_the_steps_that_message_the_contact_say_so_and_no_others() -> None:
    """Quiet hours hold back exactly these (the engine asks the kind, it keeps no list)."""
    sending = {kind.kind for kind in REGISTRY.primary() if kind.sends_message}

    assert sending == {"send_email", "send_sms", "send_whatsapp"}


def test_if_else_branches_per_run_with_the_reason() -> None:
    condition = TypeAdapter(Condition).validate_python(
        {"event_count": {"event": "purchase", "equals": 1}}
    )
    items = [
        item(1, facts=Facts(event_counts={"purchase": 1})),
        item(2, facts=Facts(event_counts={"purchase": 2})),
    ]

    outcomes = IfElse().run(condition, items, ENV)

    assert [(o.run_id, o.result, o.branch) for o in outcomes] == [
        (1, "yes", "then"),
        (2, "no", "else"),
    ]
    assert outcomes[1].reason == "purchase count = 2, expected exactly 1"


def test_add_to_list_joins_only_where_not_a_member_yet() -> None:
    params = ListParams(lists=["VIP", "News"])
    items = [item(1), item(2, facts=Facts(lists=frozenset({"VIP"})))]

    first, second = AddToList().run(params, items, ENV)

    assert first.effects == (JoinList(contact_id=1, list_id=1), JoinList(contact_id=1, list_id=2))
    assert (first.result, first.reason) == ("changed", "added to VIP, News")
    assert second.effects == (JoinList(contact_id=2, list_id=2),)
    assert second.reason == "added to News; already in VIP"


def test_add_to_list_for_a_member_is_a_no_op() -> None:
    (outcome,) = AddToList().run(
        ListParams(lists="VIP"), [item(1, facts=Facts(lists=frozenset({"VIP"})))], ENV
    )

    assert (outcome.result, outcome.reason, outcome.effects) == ("unchanged", "already in VIP", ())
    assert outcome.branch == "next"


def test_remove_from_list_leaves_only_where_a_member() -> None:
    items = [item(1, facts=Facts(lists=frozenset({"VIP"}))), item(2)]

    first, second = RemoveFromList().run(ListParams(lists="VIP"), items, ENV)

    assert first.effects == (LeaveList(contact_id=1, list_id=1),)
    assert first.reason == "removed from VIP"
    assert (second.result, second.reason, second.effects) == ("unchanged", "not in VIP", ())


EMAIL = SendEmailParams.model_validate(
    {
        "subject": "Hi {{ contact.FIRSTNAME }}",
        "html": "<p>{{ event.properties.amount }} {{ unique_code('C-') }}</p>",
        "text": "code {{ unique_code('C-') }}",
        "from": "Shop <shop@example.com>",
    }
)


def test_send_email_renders_and_queues_with_a_key_per_run_step_and_visit() -> None:
    event = {"name": "purchase", "properties": {"amount": 12}}

    (outcome,) = SendEmail().run(EMAIL, [item(9, contact=contact(5), event=event, seq=2)], ENV)

    (email,) = outcome.effects
    assert isinstance(email, QueueEmail)
    assert email.idempotency_key == "9:s:2"
    assert (email.run_id, email.workflow_id, email.contact_id, email.step_id) == (9, 3, 5, "s")
    assert (email.recipient, email.sender) == ("jane@example.com", "Shop <shop@example.com>")
    assert email.subject == "Hi Jane"
    code = email.text.removeprefix("code ") if email.text else ""
    assert code.startswith("C-") and email.html == f"<p>12 {code}</p>"
    assert email.suppressed is None
    assert (outcome.result, outcome.reason) == (
        "queued",
        "email 'Hi Jane' queued for jane@example.com",
    )


def test_each_run_gets_its_own_code() -> None:
    outcomes = SendEmail().run(
        EMAIL, [item(1, contact=contact(1)), item(2, contact=contact(2))], ENV
    )

    texts = [o.effects[0].text for o in outcomes]  # type: ignore[union-attr]
    assert texts[0] != texts[1]


@pytest.mark.parametrize(
    ("who", "reason"),
    [
        (contact(5, email_blocklisted=True), "contact is blocklisted for email"),
        (contact(5, email=None), "contact has no email address"),
        (None, "contact no longer exists"),
    ],
)
def test_send_email_suppresses_with_the_reason(who: ContactView | None, reason: str) -> None:
    (outcome,) = SendEmail().run(EMAIL, [item(9, contact=who)], ENV)

    (email,) = outcome.effects
    assert isinstance(email, QueueEmail)
    assert (outcome.result, outcome.reason, email.suppressed) == ("suppressed", reason, reason)
    assert not outcome.fail


def test_a_template_that_fails_to_render_fails_the_run_with_the_error() -> None:
    params = SendEmailParams(subject="{{ 1 // contact.ZERO }}", html="<p>x</p>")
    zero = ContactView(id=1, email="a@example.com", attributes={"ZERO": 0})

    (outcome,) = SendEmail().run(params, [item(1, contact=zero)], ENV)

    assert outcome.fail and outcome.result == "failed"
    assert "ZeroDivisionError" in outcome.reason
    assert outcome.effects == ()
