"""The dry-run simulator: a contact (a stored one, or a made-up one) and an event through one
workflow, with time skipped and nothing sent; the path it took and the reason of every step.

It runs the real engine, not a model of it, on a scratch SQLite database that lives for the
call. Into it go the attribute definitions, the users, the contact with its attributes, lists,
blocklist flags and the events it received last (as history, in the order received: they count
for conditions, they start nothing), the workflows the document starts (as drafts: their runs
are not simulated), and the document itself, active. Then the event is recorded, and the engine
and the dispatcher run until idle; the clock jumps to the next thing due (a delay's end, a
wait's timeout, a window, a retry, or one of the scenario's later events, recorded then) and
they run again, until nothing is inside, due or to come, or the horizon is reached. Emails and
texts go to the capture transport, with links signed by a secret of the simulation's own (they
name scratch contacts, so they must never verify on the real server); a webhook is not called
but answered with the scenario's status and JSON, so the branch it takes and the data later
steps read are the scenario's. The real store is only read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from journeyman.app import App
from journeyman.channels.capture import CaptureTransport
from journeyman.channels.webhook import WebhookTransport
from journeyman.clock import FakeClock
from journeyman.config import Secret
from journeyman.engine.dispatch import Dispatcher, DispatchSettings
from journeyman.engine.runner import run as run_engine
from journeyman.errors import DeliveryError, InvalidInput
from journeyman.model.contacts import coerce_attributes, normalize_email
from journeyman.model.messages import WebhookRequest, WebhookResponse
from journeyman.services import simulation as service
from journeyman.services import workflows
from journeyman.services.events import EventInput
from journeyman.services.simulation import ContactInput
from journeyman.workflow.document import Workflow, parse_workflow

MADE_UP_EMAIL = "simulated.contact@example.com"
HISTORY = 10_000  # the contact's events received last, copied
MAX_ROUNDS = 1_000  # engine runs, each after a jump of the clock
DEFAULT_HORIZON = dt.timedelta(days=400)


@dataclass(frozen=True, kw_only=True)
class LaterEvent:
    """An event of the same contact, ``after`` the one that enters (an order that arrives,
    a cart that is deleted): what waits, exits, restarts and goals react to."""

    after: dt.timedelta
    name: str
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """Who enters, on what, and what webhooks answer. ``email`` names a stored contact (copied
    with its history) or a new one; ``attributes`` are set on top; ``event`` defaults to the
    first the workflow's entry points listen to."""

    email: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    lists: Sequence[str] = ()
    event: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
    webhook_status: int = 200
    webhook_json: Any = None
    horizon: dt.timedelta = DEFAULT_HORIZON
    later: Sequence[LaterEvent] = ()  # recorded when the clock reaches them


@dataclass(frozen=True, kw_only=True)
class SimulatedStep:
    at: dt.datetime
    workflow: str | None
    run_id: int
    step_id: str
    kind: str
    result: str
    branch: str | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class SimulatedMessage:
    at: dt.datetime
    channel: str
    step_id: str | None
    recipient: str | None
    subject: str
    text: str | None
    status: str
    reason: str | None


@dataclass(frozen=True, kw_only=True)
class WebhookCall:
    at: dt.datetime
    method: str
    url: str
    body: Any


@dataclass(frozen=True, kw_only=True)
class Simulation:
    workflow: str
    email: str
    stored_contact: bool  # copied from the store (with its history), else made up
    event: str
    started_at: dt.datetime
    ended_at: dt.datetime  # the clock when the simulation stopped
    entered: bool
    finished: bool  # nothing inside, due or to come at the end (else: the horizon was reached)
    runs: tuple[dict[str, Any], ...]  # status and step of each run at the end
    steps: tuple[SimulatedStep, ...]
    refusals: tuple[str, ...]  # why an entry was refused
    messages: tuple[SimulatedMessage, ...]
    webhooks: tuple[WebhookCall, ...]


def simulate(app: App, document: Mapping[str, Any], scenario: Scenario) -> Simulation:
    """Run ``scenario`` through ``document`` (validated here: an invalid one raises
    :class:`InvalidWorkflow`) on a scratch copy of what it needs from ``app``'s store."""
    workflow = parse_workflow(document)
    event = scenario.event or _first_event(workflow)
    now = app.clock.now()
    found = _Copied.read(app, workflow, scenario)
    with tempfile.TemporaryDirectory(prefix="journeyman-simulation-") as directory:
        clock = FakeClock(now)
        # A secret of its own: the tracking and unsubscribe links in the simulated messages
        # name scratch contacts and keys, and must not verify on the real server.
        settings = replace(
            app.settings,
            database_url=f"sqlite:///{Path(directory) / 'simulation.db'}",
            secret=Secret(secrets.token_hex(32)),
        )
        scratch = App.open(settings, clock=clock)
        try:
            contact_id = found.furnish(scratch, workflow)
            entering = LaterEvent(after=dt.timedelta(0), name=event, properties=scenario.properties)
            _record(scratch, found.email, entering, now, what="event")
            calls: list[WebhookCall] = []
            finished = asyncio.run(_run(scratch, clock, scenario, calls, found.email))
            return _result(scratch, workflow, found, event, contact_id, now, finished, calls)
        finally:
            scratch.close()


def _first_event(workflow: Workflow) -> str:
    for entry in workflow.entry_points:
        names = sorted(entry.event_names)
        if names:
            return names[0]
    raise InvalidInput(f"workflow {workflow.key!r} listens to no event: name one")


@dataclass(frozen=True, kw_only=True)
class _Copied:
    """What the scratch store gets from the real one."""

    email: str
    stored: bool
    contact: ContactInput
    blocklisted: tuple[bool, bool]  # email, sms
    lists: frozenset[str]
    history: list[dict[str, Any]]
    definitions: dict[str, Any]
    users: list[tuple[str, str]]
    started: dict[str, Mapping[str, Any]]  # key -> current document of a workflow it starts

    @classmethod
    def read(cls, app: App, workflow: Workflow, scenario: Scenario) -> _Copied:
        email = normalize_email(scenario.email or MADE_UP_EMAIL)
        started = [k for k in workflow.references().get("workflows", {}) if k != workflow.key]
        stored = service.source(app, email, started, history=HISTORY)
        extra = coerce_attributes(stored.definitions, scenario.attributes)
        view = stored.contact
        if view is None:
            contact = ContactInput(email=email, attributes=extra)
        else:
            contact = ContactInput(
                email=email,
                attributes={**view.attributes, **extra},
                sms=view.sms,
                whatsapp=view.whatsapp,
                timezone=view.timezone,
            )
        return cls(
            email=email,
            stored=view is not None,
            contact=contact,
            blocklisted=(False, False)
            if view is None
            else (view.email_blocklisted, view.sms_blocklisted),
            lists=frozenset(scenario.lists) | stored.lists,
            history=stored.history,
            definitions=dict(stored.definitions),
            users=stored.users,
            started=stored.started,
        )

    def furnish(self, scratch: App, workflow: Workflow) -> int:
        """Fill the scratch store; the contact's id there."""
        for definition in self.definitions.values():
            scratch.define_attribute(definition)
        for name, email in self.users:
            scratch.create_user(name, email)
        contact_id = service.furnish_contact(
            scratch, self.contact, sorted(self.lists), self.blocklisted, self.history
        )
        # The events above came before: the joins queued list events, which must start nothing.
        scratch.run_until_idle(None)
        for document in self.started.values():
            workflows.apply(scratch, document, activate=False)
        workflows.apply(scratch, workflow.document, activate=True)
        return contact_id


class _Answering(WebhookTransport):
    """Calls nothing: every webhook gets the scenario's answer, and the call is noted."""

    def __init__(self, scenario: Scenario, calls: list[WebhookCall], clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self._scenario, self._calls, self._now = scenario, calls, clock.now

    async def _call(self, request: WebhookRequest) -> WebhookResponse | DeliveryError:
        self._calls.append(
            WebhookCall(at=self._now(), method=request.method, url=request.url, body=request.body)
        )
        answer = self._scenario.webhook_json
        return WebhookResponse(
            status=self._scenario.webhook_status,
            json=answer,
            text="" if answer is None else json.dumps(answer),
        )


async def _run(
    scratch: App, clock: FakeClock, scenario: Scenario, calls: list[WebhookCall], email: str
) -> bool:
    """Engine and dispatcher until idle, then the clock to the next thing due or the next
    later event (recorded then), again; True when nothing is left inside, due or to come,
    False at the horizon or after MAX_ROUNDS."""
    webhooks = _Answering(scenario, calls, clock)
    settings = DispatchSettings(keys=scratch.keys)
    dispatcher = Dispatcher(scratch.engine, CaptureTransport(), clock, settings, webhooks=webhooks)
    stepper = scratch.stepper()
    start = clock.now()
    horizon = start + scenario.horizon
    later = sorted(scenario.later, key=lambda e: e.after)
    try:
        for _ in range(MAX_ROUNDS):
            await run_engine(stepper, dispatcher, until_idle=True)
            due = service.next_due(scratch)
            coming = start + later[0].after if later else None
            if coming is not None and coming <= horizon and (due is None or coming <= due):
                clock.set(max(coming, clock.now()))
                _record(scratch, email, later.pop(0), clock.now(), what="later event")
                continue
            if due is None:
                return not later
            if due > horizon:
                return False
            clock.set(max(due, clock.now() + dt.timedelta(seconds=1)))
        return False
    finally:
        await dispatcher.close_transports()


def _record(scratch: App, email: str, event: LaterEvent, at: dt.datetime, *, what: str) -> None:
    report = scratch.record_events(
        [EventInput(name=event.name, email=email, properties=event.properties, occurred_at=at)]
    )
    if report.rejected:
        raise InvalidInput(f"{what} {event.name!r}: {report.rejected[0][1]}")


def _result(
    scratch: App,
    workflow: Workflow,
    found: _Copied,
    event: str,
    contact_id: int,
    started_at: dt.datetime,
    finished: bool,
    calls: list[WebhookCall],
) -> Simulation:
    made = service.outcome(scratch, contact_id, found.email)
    journey, rows, texts = made.journey, made.messages, made.texts
    mine = [r for r in journey.runs if r["workflow"] == workflow.key]
    steps = [
        SimulatedStep(
            at=e["at"],
            workflow=e["workflow"],
            run_id=e["run_id"],
            step_id=e["step_id"],
            kind=e["kind"],
            result=e["result"],
            branch=e["branch"],
            reason=e["reason"],
        )
        for e in journey.log
    ]
    steps.sort(key=lambda s: (s.at, s.run_id))
    messages = [
        SimulatedMessage(
            at=r["created_at"],
            channel=r["channel"],
            step_id=r["step_id"],
            recipient=r["recipient"],
            subject=r["subject"],
            text=texts[r["id"]],
            status=r["status"],
            reason=r["reason"],
        )
        for r in sorted(rows, key=lambda r: r["id"])
    ]
    return Simulation(
        workflow=workflow.key,
        email=found.email,
        stored_contact=found.stored,
        event=event,
        started_at=started_at,
        ended_at=scratch.clock.now(),
        entered=bool(mine),
        finished=finished,
        runs=tuple({"status": r["status"], "step_id": r["step_id"]} for r in mine),
        steps=tuple(steps),
        refusals=tuple(r["reason"] for r in journey.refusals),
        messages=tuple(messages),
        webhooks=tuple(calls),
    )
