"""The call_webhook step end to end: the engine parks the run, the dispatcher calls a real HTTP
server on loopback through WebhookTransport, stores the answer in the run's context and wakes
the run, which then takes its success or failure way out. Both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from journeyman.app import App
from journeyman.channels.capture import CaptureTransport
from journeyman.channels.webhook import WebhookTransport, verify
from journeyman.clock import FakeClock
from journeyman.engine.dispatch import Dispatcher, DispatchSettings
from journeyman.errors import InvalidWorkflow
from journeyman.links import workflow_secret
from journeyman.model.contacts import AttributeDefinition, AttributeType
from journeyman.model.retry import RetryPolicy
from journeyman.model.runs import Wake
from journeyman.services.events import EventInput
from journeyman.store import outbox, transaction
from journeyman.store.contacts import ContactInput
from journeyman.store.schema import contacts, list_members, lists, messages, run_log, runs

from .http_server import HttpServer, RecordedRequest, Reply

LOOPBACK = ("127.0.0.0/8",)
EMAIL = "jane@example.com"
KEY = "enrich-signups"
FAILED_LIST = "Enrichment failed"


@pytest.fixture
def server() -> Iterator[HttpServer]:
    with HttpServer() as server:
        yield server


def workflow(url: str, **webhook: Any) -> dict[str, Any]:
    """signup -> lookup (call_webhook) -> success: welcome (email) / failure: a list."""
    return {
        "key": KEY,
        "name": "Enrich signups",
        "entry_points": [{"event": "signup"}],
        "steps": [
            {
                "id": "lookup",
                "call_webhook": {
                    "url": url,
                    "headers": {
                        "X-Contact": "{{ contact.email }}",
                        "X-Plan": "p-{{ event.properties.plan }}",
                    },
                    "body": {
                        "email": "{{ contact.email }}",
                        "plan": "{{ event.properties.plan }}",
                        "name": "{{ contact.FIRSTNAME }}",
                        "fixed": [1, True, None],
                    },
                    **webhook,
                },
                "success": "welcome",
                "failure": "note_failure",
            },
            {
                "id": "welcome",
                "send_email": {
                    "from": "Shop <shop@example.com>",
                    "subject": "Welcome, {{ webhook.lookup.json.tier }} member",
                    "html": "<p>Your tier: {{ webhook.lookup.json.tier }}</p>",
                },
            },
            {"id": "note_failure", "add_to_list": {"lists": FAILED_LIST}},
        ],
    }


def start(app: App, url: str, **webhook: Any) -> None:
    app.apply_workflow(workflow(url, **webhook))
    app.upsert_contacts([ContactInput(email=EMAIL, attributes={"FIRSTNAME": "Jane"})])
    app.record_events([EventInput(name="signup", email=EMAIL, properties={"plan": "pro"})])


def cycle(app: App, *, allow: Sequence[str] = LOOPBACK) -> None:
    """Engine ticks and dispatch batches (a fresh Dispatcher with a WebhookTransport on the
    app's clock) until neither has anything due."""

    async def main() -> None:
        stepper = app.stepper()
        async with WebhookTransport(allow_networks=allow, clock=app.clock) as webhooks:
            settings = DispatchSettings(keys=app.keys)
            dispatcher = Dispatcher(
                app.engine, CaptureTransport(), app.clock, settings, webhooks=webhooks
            )
            while True:
                busy = False
                while not stepper.tick().idle:
                    busy = True
                while await dispatcher.dispatch_once():
                    busy = True
                if not busy:
                    return

    asyncio.run(main())


def the_run(app: App) -> Any:
    with transaction(app.engine) as connection:
        (row,) = connection.execute(sa.select(runs)).all()
    return row


def log_of(app: App) -> list[tuple[str, str, str | None, str]]:
    with transaction(app.engine) as connection:
        rows = connection.execute(
            sa.select(
                run_log.c.step_id, run_log.c.result, run_log.c.branch, run_log.c.reason
            ).order_by(run_log.c.run_id, run_log.c.seq)
        ).all()
    return [tuple(r) for r in rows]


def outbox_rows(app: App, channel: str) -> Sequence[sa.Row[Any]]:
    with transaction(app.engine) as connection:
        return connection.execute(
            sa.select(messages).where(messages.c.channel == channel).order_by(messages.c.id)
        ).all()


def failure_list_members(app: App) -> int:
    with transaction(app.engine) as connection:
        statement = (
            sa.select(sa.func.count())
            .select_from(list_members.join(lists, lists.c.id == list_members.c.list_id))
            .where(lists.c.name == FAILED_LIST)
        )
        return int(connection.execute(statement).scalar_one())


def signed_by_the_workflow(app: App, request: RecordedRequest, clock: FakeClock) -> bool:
    secret = workflow_secret(app.keys.current(), KEY)
    headers = request.headers
    return verify(
        secret,
        headers["webhook-id"],
        headers["webhook-timestamp"],
        request.body,
        headers["webhook-signature"],
        now=int(clock.now().timestamp()),
    )


def test_through_a_rotation_s_grace_period_calls_are_signed_with_both_workflow_secrets(
    app: App, server: HttpServer, clock: FakeClock
) -> None:
    """A receiver that still knows the workflow secret from before ``journeyman secret
    rotate`` keeps verifying calls until the grace period ends (Standard Webhooks lets a
    header carry several signatures, for rotations)."""
    server.reply(Reply(status=200, json={"tier": "gold"}))
    previous = workflow_secret(app.keys.current(), KEY)
    app.rotate_secret(dt.timedelta(days=7))
    start(app, server.url("/enrich"))

    cycle(app)

    (request,) = server.requests
    current = workflow_secret(app.keys.current(), KEY)
    headers = request.headers
    signed = (headers["webhook-id"], headers["webhook-timestamp"], request.body)
    assert current != previous
    assert len(headers["webhook-signature"].split()) == 2
    assert verify(current, *signed, headers["webhook-signature"])
    assert verify(previous, *signed, headers["webhook-signature"])


# --- success ------------------------------------------------------------------------------


def test_a_2xx_answer_is_stored_in_the_context_and_the_run_takes_success(
    app: App, server: HttpServer, clock: FakeClock
) -> None:
    server.reply(Reply(status=200, json={"tier": "gold", "score": 42}))
    start(app, server.url("/enrich?src=journeyman"))

    cycle(app)

    (request,) = server.requests
    (call,) = outbox_rows(app, "webhook")
    assert (request.method, request.path) == ("POST", "/enrich?src=journeyman")
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "email": EMAIL,
        "plan": "pro",
        "name": "Jane",
        "fixed": [1, True, None],
    }
    assert (request.headers["x-contact"], request.headers["x-plan"]) == (EMAIL, "p-pro")
    assert request.headers["idempotency-key"] == request.headers["webhook-id"]
    assert request.headers["webhook-id"] == call.idempotency_key
    assert request.headers["webhook-timestamp"] == str(int(clock.now().timestamp()))
    assert signed_by_the_workflow(app, request, clock)
    other = workflow_secret(app.keys.current(), "another-workflow")
    assert not verify(
        other,
        request.headers["webhook-id"],
        request.headers["webhook-timestamp"],
        request.body,
        request.headers["webhook-signature"],
    ), "the secret is per workflow"
    assert (call.status, call.attempts, call.provider_id) == ("sent", 1, "HTTP 200")

    run = the_run(app)
    assert (run.status, run.step_id) == ("completed", None)
    assert run.context["webhook"]["lookup"] == {
        "key": call.idempotency_key,
        "ok": True,
        "status": 200,
        "json": {"tier": "gold", "score": 42},
    }
    assert "pending" not in run.context
    (email,) = outbox_rows(app, "email")
    assert email.subject == "Welcome, gold member"
    assert "Your tier: gold" in email.html
    assert email.recipient == EMAIL
    log = log_of(app)
    assert [(step, result, branch) for step, result, branch, _ in log] == [
        ("lookup", "called", None),
        ("lookup", "success", "success"),
        ("welcome", "queued", "next"),
    ]
    assert log[0][3].startswith("POST http://127.0.0.1:")
    assert log[1][3] == "webhook answered: HTTP 200"
    assert failure_list_members(app) == 0


def test_a_later_update_attribute_sets_a_value_from_the_webhook_s_answer(
    app: App, server: HttpServer
) -> None:
    """Every step renders with the same context: the answer a webhook stored in the run is
    there for update_attribute as it is for an email."""
    server.reply(Reply(status=200, json={"tier": "gold", "score": 42}))
    app.define_attribute(AttributeDefinition(name="TIER", type=AttributeType.TEXT))
    app.define_attribute(AttributeDefinition(name="SCORE", type=AttributeType.NUMBER))
    document = workflow(server.url("/enrich"))
    document["steps"][1] = {
        "id": "welcome",
        "update_attribute": {"name": "TIER", "set": "{{ webhook.lookup.json.tier }}"},
        "next": "score",
    }
    document["steps"].append(
        {
            "id": "score",
            "update_attribute": {"name": "SCORE", "set": "{{ webhook.lookup.json.score }}"},
        }
    )
    app.apply_workflow(document)
    app.upsert_contacts([ContactInput(email=EMAIL, attributes={"FIRSTNAME": "Jane"})])
    app.record_events([EventInput(name="signup", email=EMAIL, properties={"plan": "pro"})])

    cycle(app)

    with transaction(app.engine) as connection:
        stored = connection.execute(
            sa.select(contacts.c.attributes).where(contacts.c.email == EMAIL)
        ).scalar_one()
    assert (stored["TIER"], stored["SCORE"]) == ("gold", 42)
    assert [(step, result) for step, result, _, _ in log_of(app)][-2:] == [
        ("welcome", "changed"),
        ("score", "changed"),
    ]


def test_a_parked_run_is_not_executed_again_before_the_answer(
    app: App, server: HttpServer, clock: FakeClock
) -> None:
    server.reply(Reply(json={"tier": "silver"}))
    start(app, server.url("/enrich"))
    stepper = app.stepper()

    assert stepper.tick().enrolled == 1
    for _ in range(3):
        clock.advance(dt.timedelta(days=2))
        report = stepper.tick()
        assert report.idle and report.steps == 0

    run = the_run(app)
    (call,) = outbox_rows(app, "webhook")
    assert (run.status, run.step_id, run.due_at) == ("waiting", "lookup", None)
    assert run.context["pending"] == call.idempotency_key
    assert [r[:2] for r in log_of(app)] == [("lookup", "called")]
    assert (call.status, call.attempts) == ("queued", 0)
    assert server.requests == []

    cycle(app)

    assert len(server.requests) == 1
    assert the_run(app).status == "completed"
    assert [r[:2] for r in log_of(app)] == [
        ("lookup", "called"),
        ("lookup", "success"),
        ("welcome", "queued"),
    ]
    assert outbox_rows(app, "email")[0].subject == "Welcome, silver member"


def test_a_late_duplicate_answer_changes_nothing(app: App, server: HttpServer) -> None:
    server.reply(Reply(json={"tier": "gold"}))
    start(app, server.url("/enrich"))
    cycle(app)
    before = the_run(app)
    (call,) = outbox_rows(app, "webhook")
    late = {"key": call.idempotency_key, "ok": False, "status": 500, "json": None}

    with transaction(app.engine) as connection:
        wake = Wake(run_id=before.id, step_id="lookup", answer=late)
        woken = outbox.wake_runs_txn(connection, [wake], app.clock.now())

    after = the_run(app)
    assert woken == 0
    assert (after.status, after.context, after.due_at) == ("completed", before.context, None)


# --- failure ------------------------------------------------------------------------------


def test_a_404_takes_the_failure_branch_at_once_without_a_retry(
    app: App, server: HttpServer, clock: FakeClock
) -> None:
    server.answer = lambda _: Reply(status=404, json={"error": "no such customer"})
    start(app, server.url("/enrich"))

    cycle(app)
    clock.advance(dt.timedelta(hours=7))
    cycle(app)

    assert len(server.requests) == 1
    run = the_run(app)
    assert run.status == "completed"
    answer = run.context["webhook"]["lookup"]
    assert (answer["ok"], answer["status"], answer["json"]) == (
        False,
        404,
        {"error": "no such customer"},
    )
    assert [r[:3] for r in log_of(app)] == [
        ("lookup", "called", None),
        ("lookup", "failure", "failure"),
        ("note_failure", "changed", "next"),
    ]
    assert log_of(app)[1][3] == "webhook answered: HTTP 404"
    assert failure_list_members(app) == 1
    assert outbox_rows(app, "email") == []
    (call,) = outbox_rows(app, "webhook")
    assert call.attempts == 1 and call.next_attempt_at is None


def test_5xx_answers_are_retried_with_backoff_and_the_same_key_until_a_2xx(
    app: App, server: HttpServer, clock: FakeClock
) -> None:
    server.reply(Reply(status=503), Reply(status=503), Reply(json={"tier": "bronze"}))
    start(app, server.url("/enrich"))
    policy = RetryPolicy()
    first_wait = policy.base
    second_wait = dt.timedelta(seconds=policy.base.total_seconds() * policy.factor)

    cycle(app)  # attempt 1: 503
    (call,) = outbox_rows(app, "webhook")
    assert (call.status, call.attempts) == ("queued", 1)
    assert call.next_attempt_at == clock.now() + first_wait
    assert "HTTP 503" in call.reason
    assert the_run(app).status == "waiting"

    clock.advance(first_wait - dt.timedelta(seconds=1))
    cycle(app)  # not due yet
    assert len(server.requests) == 1

    clock.advance(dt.timedelta(seconds=1))
    cycle(app)  # attempt 2: 503
    (call,) = outbox_rows(app, "webhook")
    assert len(server.requests) == 2
    assert call.next_attempt_at == clock.now() + second_wait
    assert the_run(app).status == "waiting"

    clock.advance(second_wait)
    cycle(app)  # attempt 3: 200

    requests = server.requests
    assert len(requests) == 3
    assert {r.headers["idempotency-key"] for r in requests} == {call.idempotency_key}
    assert {r.headers["webhook-id"] for r in requests} == {call.idempotency_key}
    assert len({r.headers["webhook-timestamp"] for r in requests}) == 3, "signed afresh"
    assert all(r.body == requests[0].body for r in requests)
    assert signed_by_the_workflow(app, requests[-1], clock)
    run = the_run(app)
    assert run.status == "completed"
    assert run.context["webhook"]["lookup"]["status"] == 200
    assert [r[:3] for r in log_of(app)] == [
        ("lookup", "called", None),
        ("lookup", "success", "success"),
        ("welcome", "queued", "next"),
    ]
    assert outbox_rows(app, "email")[0].subject == "Welcome, bronze member"
    (call,) = outbox_rows(app, "webhook")
    assert (call.status, call.attempts) == ("sent", 3)


def test_5xx_forever_takes_the_failure_branch_when_the_retries_are_spent(
    app: App, server: HttpServer, clock: FakeClock
) -> None:
    server.answer = lambda _: Reply(status=503)
    start(app, server.url("/enrich"), retries=1)

    cycle(app)
    assert the_run(app).status == "waiting"
    clock.advance(RetryPolicy().base)
    cycle(app)
    clock.advance(dt.timedelta(days=1))
    cycle(app)

    assert len(server.requests) == 2
    assert len({r.headers["idempotency-key"] for r in server.requests}) == 1
    run = the_run(app)
    assert run.status == "completed"
    answer = run.context["webhook"]["lookup"]
    assert (answer["ok"], answer["status"], answer["json"]) == (False, 503, None)
    assert "HTTP 503" in answer["error"]
    assert [r[:3] for r in log_of(app)][:2] == [
        ("lookup", "called", None),
        ("lookup", "failure", "failure"),
    ]
    assert failure_list_members(app) == 1
    assert outbox_rows(app, "email") == []
    (call,) = outbox_rows(app, "webhook")
    assert (call.status, call.attempts, call.next_attempt_at) == ("failed", 2, None)


def test_no_answer_within_the_timeout_is_retried_then_a_failure(
    app: App, server: HttpServer, clock: FakeClock
) -> None:
    server.answer = lambda _: Reply(json={"tier": "late"}, delay=2.0)
    start(app, server.url("/slow"), timeout=0.3, retries=0)

    cycle(app)

    assert len(server.requests) == 1
    run = the_run(app)
    answer = run.context["webhook"]["lookup"]
    assert (run.status, answer["ok"], answer["status"]) == ("completed", False, None)
    assert "no answer within 0.3 s" in answer["error"]
    (_, failure, *_) = log_of(app)
    assert failure[:3] == ("lookup", "failure", "failure")
    assert "no answer within 0.3 s" in failure[3]
    assert failure_list_members(app) == 1


def test_loopback_is_refused_without_allow_networks_and_the_run_takes_failure(
    app: App, server: HttpServer
) -> None:
    start(app, server.url("/enrich"))

    cycle(app, allow=())

    assert server.requests == [], "nothing reached the server"
    run = the_run(app)
    answer = run.context["webhook"]["lookup"]
    assert (run.status, answer["ok"], answer["status"]) == ("completed", False, None)
    assert "refused" in answer["error"] and "loopback" in answer["error"]
    assert [r[:3] for r in log_of(app)][:2] == [
        ("lookup", "called", None),
        ("lookup", "failure", "failure"),
    ]
    assert "loopback" in log_of(app)[1][3]
    assert failure_list_members(app) == 1
    (call,) = outbox_rows(app, "webhook")
    assert (call.status, call.attempts) == ("failed", 1)


def test_an_unsigned_call_has_the_idempotency_key_but_no_signature(
    app: App, server: HttpServer
) -> None:
    server.reply(Reply(json={"tier": "plain"}))
    start(app, server.url("/enrich"), sign=False, method="PUT")

    cycle(app)

    (request,) = server.requests
    assert request.method == "PUT"
    assert "idempotency-key" in request.headers
    assert not {"webhook-id", "webhook-signature", "webhook-timestamp"} & set(request.headers)
    assert json.loads(request.body)["email"] == EMAIL
    assert the_run(app).status == "completed"


# --- requests that cannot be sent -----------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({"Content-Length": "3"}, "'Content-Length' is set by Journeyman"),
        ({"idempotency-key": "{{ contact.email }}"}, "'idempotency-key' is set by Journeyman"),
        ({"Webhook-Signature": "v1,x"}, "'Webhook-Signature' is set by Journeyman"),
        ({"Host": "other.example"}, "'Host' is set by Journeyman"),
        ({"X Api Key": "1"}, "header name 'X Api Key' is invalid"),
        ({"": "1"}, "header name '' is invalid"),
    ],
)
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_headers_that_would_break_the_request_are_refused_at_apply_time(
    app: App, headers: dict[str, str], words: str
) -> None:
    with pytest.raises(InvalidWorkflow) as refused:
        app.apply_workflow(workflow("https://hooks.example.com/x", headers=headers))

    (problem,) = refused.value.problems
    assert problem.step == "lookup" and problem.field is not None and "headers" in problem.field
    assert words in problem.message


def test_a_header_rendered_with_a_line_break_takes_failure_without_a_call(
    app: App, server: HttpServer
) -> None:
    app.apply_workflow(
        workflow(server.url("/enrich"), headers={"X-Name": "{{ contact.FIRSTNAME }}"})
    )
    app.upsert_contacts(
        [
            ContactInput(email=EMAIL, attributes={"FIRSTNAME": "Jane\r\nX-Injected: yes"}),
            ContactInput(email="bob@example.com", attributes={"FIRSTNAME": "  Bob  "}),
        ]
    )
    server.answer = lambda _: Reply(json={"tier": "gold"})
    app.record_events([EventInput(name="signup", email=e) for e in (EMAIL, "bob@example.com")])

    cycle(app)

    (request,) = server.requests
    assert request.headers["x-name"] == "Bob", "surrounding whitespace is trimmed"
    assert "x-injected" not in request.headers
    with transaction(app.engine) as connection:
        jane = connection.execute(
            sa.select(runs)
            .join(contacts, contacts.c.id == runs.c.contact_id)
            .where(contacts.c.email == EMAIL)
        ).one()
    answer = jane.context["webhook"]["lookup"]
    assert (jane.status, answer["ok"], answer["status"]) == ("completed", False, None)
    assert "header X-Name would hold a line break" in answer["error"]
    assert len(outbox_rows(app, "webhook")) == 1, "nothing queued for Jane"
    assert failure_list_members(app) == 1
    assert outbox_rows(app, "email")[0].recipient == "bob@example.com"


def test_a_transport_that_raises_fails_its_messages_not_the_dispatcher(
    app: App, server: HttpServer
) -> None:
    """A Content-Length of its own makes the HTTP client raise (h11's LocalProtocolError,
    which httpx does not wrap). Such a row is written here directly, as the step now refuses
    the header; the dispatcher survives it and the run takes the failure way out."""
    start(app, server.url("/enrich"), retries=0)
    app.stepper().tick()
    (call,) = outbox_rows(app, "webhook")
    payload = dict(call.payload)
    payload["headers"] = {**payload["headers"], "Content-Length": "3"}
    with transaction(app.engine) as connection:
        connection.execute(
            sa.update(messages).where(messages.c.id == call.id).values(payload=payload)
        )

    cycle(app)

    (call,) = outbox_rows(app, "webhook")
    assert (call.status, call.attempts) == ("failed", 1)
    assert "the webhook transport failed" in call.reason
    run = the_run(app)
    assert (run.status, run.context["webhook"]["lookup"]["ok"]) == ("completed", False)
    assert failure_list_members(app) == 1
