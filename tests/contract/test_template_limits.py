"""A template over a render limit fails its own run with the reason and holds up no other
workflow on the same event (both databases)."""

from __future__ import annotations

import time

from journeyman import App
from journeyman.model.contacts import AttributeDefinition, AttributeType
from journeyman.store import read_transaction, reports
from journeyman.store.contacts import ContactInput

from .support import contact_id, log_of, messages_to, send, tick_until_idle, workflow

JANE = "jane@example.com"
# Harmless for a contact without data (validation's dry render passes it); 10,000 x 10,000
# iterations for a contact whose SIZE is 10,000: before the limits, a render without end.
HOSTILE = (
    "<p>{% for a in range(contact.SIZE) %}{% for b in range(contact.SIZE) %}"
    "{{ b }}{% endfor %}{% endfor %}</p>"
)


def test_a_hostile_template_fails_its_run_and_a_benign_workflow_still_sends(app: App) -> None:
    app.define_attribute(AttributeDefinition(name="SIZE", type=AttributeType.NUMBER))
    app.upsert_contacts([ContactInput(email=JANE, attributes={"SIZE": 10_000})])
    hostile = {"id": "mail", "send_email": {"subject": "Loop", "html": HOSTILE}}
    benign = {"id": "mail", "send_email": {"subject": "Thanks", "html": "<p>Thanks</p>"}}
    app.apply_workflow(workflow(hostile, key="hostile", event="purchase"))
    app.apply_workflow(workflow(benign, key="benign", event="purchase"))
    send(app, ("purchase", JANE))
    started = time.monotonic()

    tick_until_idle(app)

    assert time.monotonic() - started < 30  # seconds, on a loaded machine; about 1 alone
    assert [m["subject"] for m in messages_to(app, JANE)] == ["Thanks"]
    failed = [e for e in log_of(app, JANE) if e["result"] == "failed"]
    # Whichever limit comes first: the loops' count alone, the time on a loaded machine.
    assert [(e["step_id"], e["reason"]) for e in failed] in (
        [("mail", "template exceeded 100000 loop iterations")],
        [("mail", "template took longer than 0.5 s")],
    )
    reason = failed[0]["reason"]
    with read_transaction(app.engine) as connection:  # what ``contacts show`` and the timeline read
        journey = reports.journey_txn(connection, contact_id(app, JANE))
    assert {(e["result"], e["reason"]) for e in journey.log} >= {("failed", reason)}
