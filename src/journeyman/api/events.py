"""``/v3/events``: events that start and steer workflows, one at a time or in batches.

An event names its contact by ``identifiers`` (``contact_id`` first, then ``email_id``,
``ext_id``, ``phone_id``, ``whatsapp_id``); a new email address creates the contact.
``contact_properties`` update the contact's attributes before the event is recorded, so the
workflows it starts see them. Events go through ``services.events``, as from the CLI, by
way of the server's one writer (``group_commit``), which stores the events of concurrent
requests in one transaction and answers each once it has committed.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, NamedTuple

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from typing_extensions import TypedDict  # pydantic needs it before Python 3.12

from journeyman.api import body_limit
from journeyman.api.auth import require_api_key
from journeyman.api.contact_input import contact_input
from journeyman.api.errors import (
    ERROR_RESPONSES,
    ApiError,
    InvalidParameter,
    MissingParameter,
)
from journeyman.api.group_commit import EventWriter
from journeyman.api.limits import ContactId
from journeyman.api.wire import (
    Body,
    Email,
    Journeyman,
    JsonRoute,
    Offset,
    parse_time,
    time_text,
)
from journeyman.app import App
from journeyman.errors import InvalidInput, NotFound
from journeyman.model.contacts import ContactInput, normalize_email
from journeyman.services import attributes, contacts
from journeyman.services import events as event_service
from journeyman.services.contacts import ContactChange
from journeyman.services.events import EventInput, Submission

router = APIRouter(
    prefix="/v3/events",
    tags=["events"],
    dependencies=[Depends(require_api_key)],
    responses=ERROR_RESPONSES,
    route_class=JsonRoute,
)

MAX_BATCH = 1000
MAX_EVENT_BYTES = body_limit.DEFAULT  # one event of a batch, as one POST /v3/events body
# The rule services.events.record applies, checked first so a refused event changes no contact.
EVENT_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
EVENT_NAME_RULE = "1-200 letters, digits, '_', '.', ':', '-'"
# Journeyman's extension (README, "Events"): the events of the request are history.
HISTORICAL_HEADER = "X-Journeyman-Historical"


# A TypedDict, not a model: validating a nested model was a third of an event's validation
# (3 of 9.5 µs). Unknown keys are ignored, as in a ``Part``. (No docstring: it would be the
# schema's description in the OpenAPI document.)
class Identifiers(TypedDict, total=False):
    contact_id: ContactId | None
    email_id: Email | None
    ext_id: str | None
    phone_id: str | None
    whatsapp_id: str | None
    landline_number_id: str | None


EventName = Annotated[str, Field(json_schema_extra={"pattern": EVENT_NAME.pattern})]


class EventBody(Body):
    event_name: EventName
    event_date: str | None = None
    identifiers: Identifiers
    contact_properties: dict[str, Any] | None = None
    event_properties: dict[str, Any] | None = None
    object: dict[str, Any] | None = None
    historical: bool = Field(
        default=False,
        description="Journeyman's extension: record the event as history (conditions such "
        "as a first purchase see it) without starting or steering workflows; the header "
        f"{HISTORICAL_HEADER} does it for every event of the request",
    )


class EventsBatch(BaseModel):
    """Not a :class:`Body`: each event is checked on its own (as an :class:`EventBody`), so
    that a bad one is reported by its index and the others are kept."""

    model_config = ConfigDict(extra="ignore")
    events: list[dict[str, Any]]


class BatchAccepted(BaseModel):
    message: str
    count: int


class BatchError(BaseModel):
    eventIndex: list[int]
    message: str


class BatchResult(BaseModel):
    status: str
    total_events: int
    successful_events: int
    failed_events: int
    errors: list[BatchError]


class _Ready(NamedTuple):  # one per event of a batch: a NamedTuple is 3x cheaper to build
    position: int  # in the request (not ``index``: a tuple method)
    event: EventInput
    contact: ContactInput | None


def _email(reads: contacts.Lookups, named: Identifiers) -> str:
    for kind in ("contact_id", "email_id", "ext_id", "phone_id", "whatsapp_id"):
        value = named.get(kind)
        if value is None:
            continue
        if isinstance(value, str) and kind == "email_id":
            return normalize_email(value)
        return reads.email(value, kind)
    raise MissingParameter(
        "identifiers: pass one of contact_id, email_id, ext_id, phone_id or whatsapp_id"
    )


def _prepare(
    app: App, reads: contacts.Lookups, index: int, body: EventBody, *, historical: bool = False
) -> _Ready:
    if not EVENT_NAME.match(body.event_name):
        raise InvalidParameter(f"event_name {body.event_name!r} is invalid: {EVENT_NAME_RULE}")
    email = _email(reads, body.identifiers)
    contact = None
    if body.contact_properties:
        contact, _ = contact_input(email, body.contact_properties, attributes.definitions(app))
        if contact.sms or contact.ext_id:
            reads.check([ContactChange(contact=contact)])
    event = EventInput(
        name=body.event_name,
        email=email,
        occurred_at=parse_time(body.event_date, "event_date"),
        properties=body.event_properties or {},
        historical=historical or body.historical,
        source="api",
    )
    return _Ready(position=index, event=event, contact=contact)


def _prepare_batch(
    app: App, body: EventsBatch, *, measure: bool, historical: bool = False
) -> tuple[list[_Ready], list[tuple[int, str]]]:
    """The batch's events made ready (in a worker thread: it may read the store), and the
    (index, reason) of those refused already. Events named by email alone need no read: a
    read transaction is opened only for the others. With ``measure``, an event over
    :data:`MAX_EVENT_BYTES` is refused, as ``POST /v3/events`` refuses its body."""
    ready: list[_Ready] = []
    refused: list[tuple[int, str]] = []
    claims = contacts.Claims()
    with contacts.Lookups(app) as reads:
        for index, raw in enumerate(body.events):
            size = _size(raw) if measure else 0
            if size > MAX_EVENT_BYTES:
                refused.append((index, f"the event is {size:,} bytes, over {MAX_EVENT_BYTES:,}"))
                continue
            try:
                event = EventBody.model_validate(raw)
                prepared = _by_email_only(event, index, historical=historical)
                if prepared is None:
                    prepared = _prepare(app, reads, index, event, historical=historical)
            except ValidationError as exc:
                refused.append((index, _first_problem(exc)))
                continue
            except (ApiError, InvalidInput, NotFound) as exc:
                refused.append((index, str(exc)))
                continue
            conflict = None
            if prepared.contact is not None:
                conflict = claims.conflict(ContactChange(contact=prepared.contact))
            if conflict is None:
                ready.append(prepared)
            else:
                refused.append((index, conflict))
    return ready, refused


def _size(raw: dict[str, Any]) -> int:
    """The bytes of an event of a batch, as JSON without spaces (0 for one orjson cannot
    write, an integer past 64 bits, which ``limits`` refuses)."""
    try:
        return len(orjson.dumps(raw))
    except orjson.JSONEncodeError:
        return 0


def _may_hold_large_event(request: Request) -> bool:
    """Whether the batch's body is large enough for one event to be over the limit (events
    are measured only then: most batches are far smaller)."""
    announced = request.headers.get("content-length", "")
    return not announced.isdigit() or int(announced) > MAX_EVENT_BYTES


def _prepare_one(app: App, body: EventBody, historical: bool) -> _Ready:
    with contacts.Lookups(app) as reads:
        return _prepare(app, reads, 0, body, historical=historical)


def _historical(request: Request) -> bool:
    """Whether the request's :data:`HISTORICAL_HEADER` asks for history (``true`` or ``1``;
    any other value is refused, so that a typo never starts workflows)."""
    value = request.headers.get(HISTORICAL_HEADER)
    if value is None:
        return False
    if value.strip().lower() in ("true", "1"):
        return True
    if value.strip().lower() in ("false", "0"):
        return False
    raise InvalidParameter(f"{HISTORICAL_HEADER}: {value!r} is not true or false")


def _by_email_only(body: EventBody, index: int = 0, *, historical: bool = False) -> _Ready | None:
    """The common event (a contact named by email, no contact properties) made ready
    without the store, in the event loop; None for the others."""
    named = body.identifiers
    email = named.get("email_id")
    if body.contact_properties or email is None or named.get("contact_id") is not None:
        return None
    if not EVENT_NAME.match(body.event_name):
        raise InvalidParameter(f"event_name {body.event_name!r} is invalid: {EVENT_NAME_RULE}")
    event = EventInput(
        name=body.event_name,
        email=normalize_email(email),
        occurred_at=parse_time(body.event_date, "event_date"),
        properties=body.event_properties or {},
        historical=historical or body.historical,
        source="api",
    )
    return _Ready(position=index, event=event, contact=None)


def _state(request: Request) -> tuple[App, EventWriter]:
    """The server's App and event writer, read from the request rather than by dependencies:
    FastAPI's dependency solving is a good part of the cost of a single event."""
    state = request.app.state
    return state.journeyman, state.event_writer


async def _record(writer: EventWriter, ready: list[_Ready]) -> list[tuple[int, str]]:
    """Contact properties first, then the events, committed by the server's one writer
    together with other requests' (``group_commit``): (index, reason) of the refused ones."""
    submission = Submission(
        events=[r.event for r in ready], contacts=[r.contact for r in ready if r.contact]
    )
    return [(ready[i].position, reason) for i, reason in await writer.record(submission)]


@router.post("", status_code=204)
async def create_event(body: EventBody, request: Request) -> Response:
    """Record one event; it starts the workflows whose entry points match (unless it is
    ``historical``). Answered once the event is stored."""
    app, writer = _state(request)
    historical = _historical(request)
    ready = _by_email_only(body, historical=historical)
    if ready is None:
        ready = await run_in_threadpool(_prepare_one, app, body, historical)
    refused = await _record(writer, [ready])
    if refused:
        raise InvalidParameter(refused[0][1])
    return Response(status_code=204)


@router.post(
    "/batch",
    status_code=202,
    response_model=BatchAccepted,
    responses={207: {"model": BatchResult, "description": "some events were refused"}},
)
async def create_batch_events(body: EventsBatch, request: Request) -> Any:
    """Record several events: the valid ones are kept, the others reported by index.
    Each may be ``historical``, or all of them by the header."""
    app, writer = _state(request)
    historical = _historical(request)
    if not body.events:
        raise MissingParameter("events is empty")
    if len(body.events) > MAX_BATCH:
        raise InvalidParameter(f"events: at most {MAX_BATCH} per request")
    measure = _may_hold_large_event(request)
    ready, refused = await run_in_threadpool(
        _prepare_batch, app, body, measure=measure, historical=historical
    )
    if ready:
        refused += await _record(writer, ready)
    if not refused:
        message = "Batch accepted. Valid events have been added to the processing queue."
        return BatchAccepted(message=message, count=len(ready))
    refused.sort()
    result = BatchResult(
        status="partial_success" if len(refused) < len(body.events) else "failed",
        total_events=len(body.events),
        successful_events=len(body.events) - len(refused),
        failed_events=len(refused),
        errors=[BatchError(eventIndex=[i], message=m) for i, m in refused],
    )
    return JSONResponse(result.model_dump(), status_code=207)


def _end_of(text: str | None) -> dt.datetime | None:
    """``endDate`` includes the whole day when it is a date."""
    end = parse_time(text, "endDate")
    if end is not None and text is not None and len(text.strip()) == 10:
        try:
            end += dt.timedelta(days=1, microseconds=-1)
        except OverflowError:
            return None  # the end of 9999-12-31: no end
    return end


def _first_problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


class EventItem(BaseModel):
    contact_id: int
    event_name: str
    event_date: str
    event_properties: dict[str, Any]


class EventsPage(BaseModel):
    events: list[EventItem]
    count: int


@router.get("", response_model=EventsPage)
def get_events(
    app: Journeyman,
    contact_id: Annotated[list[ContactId] | None, Query()] = None,
    event_name: Annotated[list[str] | None, Query()] = None,
    startDate: str | None = None,
    endDate: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Offset = 0,
) -> EventsPage:
    """Events, the latest first."""
    found, total = event_service.page(
        app,
        limit=limit,
        offset=offset,
        contact_ids=contact_id or (),
        names=event_name or (),
        start=parse_time(startDate, "startDate"),
        end=_end_of(endDate),
    )
    items = [
        EventItem(
            contact_id=e.contact_id,
            event_name=e.name,
            event_date=time_text(e.occurred_at),
            event_properties=dict(e.properties),
        )
        for e in found
    ]
    return EventsPage(events=items, count=total)
