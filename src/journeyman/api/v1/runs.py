"""``/api/v1``: runs of a workflow, runs of a contact, and a contact's timeline: the journey
``journeyman contacts show`` prints (``store.reports.journey_txn``), every decision with
its reason."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel

from journeyman.api.v1.common import Limit, Offset, v1_router
from journeyman.api.wire import Journeyman
from journeyman.model.contacts import identifier_kind, identifier_value
from journeyman.model.runs import RunStatus
from journeyman.services import journeys

router = v1_router("runs")

Status = Annotated[
    RunStatus | None, Query(description="active, waiting, completed, exited or failed")
]


class Run(BaseModel):
    id: int
    workflow: str
    version: int
    contact_id: int
    email: str | None
    status: str
    step_id: str | None
    seq: int
    due_at: dt.datetime | None
    trigger_event_id: int | None
    trigger_event: str | None
    entered_at: dt.datetime
    updated_at: dt.datetime


class RunsPage(BaseModel):
    runs: list[Run]
    count: int
    limit: int
    offset: int


class Contact(BaseModel):
    id: int
    email: str | None


class TimelineEntry(BaseModel):
    """One moment of the journey: ``entered`` (a run started, with its event), ``step`` (a
    step executed: result, way out and reason) or ``refused`` (an entry refused, and why)."""

    at: dt.datetime
    type: Literal["entered", "step", "refused"]
    workflow: str | None
    run_id: int | None = None
    event_id: int | None = None
    event: str | None = None
    seq: int | None = None
    step_id: str | None = None
    kind: str | None = None
    result: str | None = None
    branch: str | None = None
    reason: str


class Timeline(BaseModel):
    contact: Contact
    runs: list[Run]
    timeline: list[TimelineEntry]


@router.get("/workflows/{key}/runs", response_model=RunsPage)
def workflow_runs(
    key: str, app: Journeyman, status: Status = None, limit: Limit = 50, offset: Offset = 0
) -> RunsPage:
    """The workflow's runs, newest first."""
    rows, total = journeys.workflow_runs(
        app, key, status=status.value if status else None, limit=limit, offset=offset
    )
    return RunsPage(runs=[Run(**r) for r in rows], count=total, limit=limit, offset=offset)


@router.get("/contacts/{identifier}/runs", response_model=RunsPage)
def contact_runs(
    identifier: str, app: Journeyman, status: Status = None, limit: Limit = 50, offset: Offset = 0
) -> RunsPage:
    """The contact's runs (by email or id), newest first."""
    rows, total = journeys.contact_runs(
        app,
        _contact(identifier),
        status=status.value if status else None,
        limit=limit,
        offset=offset,
    )
    return RunsPage(runs=[Run(**r) for r in rows], count=total, limit=limit, offset=offset)


@router.get("/contacts/{identifier}/timeline", response_model=Timeline)
def contact_timeline(identifier: str, app: Journeyman) -> Timeline:
    """The contact's journey (by email or id), oldest first: each run's entry with the event
    that started it, every step with the reason of its decision, the entries refused."""
    found = journeys.timeline(app, _contact(identifier))
    journey = found.journey
    entries = [*map(_entered, journey.runs), *map(_step, journey.log)]
    entries += [_refused(r) for r in journey.refusals]
    order = {"entered": 0, "step": 1, "refused": 2}
    entries.sort(key=lambda e: (e.at, e.run_id or 0, order[e.type], e.seq or 0))
    return Timeline(
        contact=Contact(id=found.contact_id, email=found.email),
        runs=[Run(**r) for r in journey.runs],
        timeline=entries,
    )


def _contact(identifier: str) -> journeys.ContactRef:
    """The contact a path names: an email, an id, a phone number, else an ext_id."""
    kind = identifier_kind(identifier, None)
    return journeys.ContactRef(kind=kind, value=identifier_value(kind, identifier), text=identifier)


def _entered(run: dict[str, Any]) -> TimelineEntry:
    event = run["trigger_event"]
    why = f"entered on event {event} (id {run['trigger_event_id']})" if event else "entered"
    return TimelineEntry(
        at=run["entered_at"],
        type="entered",
        workflow=run["workflow"],
        run_id=run["id"],
        event_id=run["trigger_event_id"],
        event=event,
        reason=f"{why}, version {run['version']}",
    )


def _step(entry: dict[str, Any]) -> TimelineEntry:
    return TimelineEntry(
        type="step",
        **{k: entry[k] for k in ("at", "workflow", "run_id", "seq", "step_id")},
        kind=entry["kind"],
        result=entry["result"],
        branch=entry["branch"],
        reason=entry["reason"],
    )


def _refused(refusal: dict[str, Any]) -> TimelineEntry:
    return TimelineEntry(
        at=refusal["at"],
        type="refused",
        workflow=refusal["workflow"],
        event_id=refusal["event_id"],
        reason=refusal["reason"],
    )
