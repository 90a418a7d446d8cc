"""Brevo's browser tracker: ``POST /api/v2/trackEvent``, ``/identify``, ``/trackPage`` and
``/trackLink`` with the ``ma-key`` header: a *tracker* key (``journeyman apikey create NAME
--scope tracker``), which is public, as it sits in web pages, and can call nothing else; an
admin key is refused here.

``properties`` that name a defined attribute (or a contact field: SMS, WHATSAPP, EXT_ID,
TIMEZONE) update the contact; the others are kept as the event's properties rather than
refusing the event (a web page sends what it has). The routes answer CORS preflights for the
origins in ``JOURNEYMAN_TRACKER_ORIGINS`` (:class:`TrackerCors`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Depends, Response
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from journeyman.api.auth import require_ma_key
from journeyman.api.contact_input import FIELDS, contact_input
from journeyman.api.errors import ERROR_RESPONSES, InvalidParameter
from journeyman.api.events import EVENT_NAME, EVENT_NAME_RULE, EventName
from journeyman.api.wire import Body, Email, Journeyman, Part
from journeyman.app import App
from journeyman.model.contacts import AttributeDefinition
from journeyman.services import attributes as attribute_service
from journeyman.services import contacts, events
from journeyman.services.contacts import ContactChange
from journeyman.services.events import EventInput

PREFIX = "/api/v2"
PAGE_VIEWED = "page_viewed"
LINK_CLICKED = "link_clicked"

router = APIRouter(
    prefix=PREFIX,
    tags=["tracker"],
    dependencies=[Depends(require_ma_key)],
    responses=ERROR_RESPONSES,
)


class EventData(Part):
    id: str | None = None
    data: dict[str, Any] | None = None


class TrackEvent(Body):
    email: Email
    event: EventName
    properties: dict[str, Any] | None = None
    eventdata: EventData | None = None


class Identify(Body):
    email: Email
    attributes: dict[str, Any] | None = None


class TrackPage(Body):
    email: Email
    page: str
    properties: dict[str, Any] | None = None


class TrackLink(Body):
    email: Email
    link: str
    properties: dict[str, Any] | None = None


def _update_contact(
    app: App,
    email: str,
    values: Mapping[str, Any] | None,
    definitions: Mapping[str, AttributeDefinition],
) -> None:
    contact, _ = contact_input(email, values, definitions)
    contacts.apply(app, [ContactChange(contact=contact)])


def _split(
    definitions: Mapping[str, AttributeDefinition], values: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``values`` as (the contact's: defined attributes and fields, the event's: the rest)."""
    known = set(definitions) | set(FIELDS)
    contact: dict[str, Any] = {}
    event: dict[str, Any] = {}
    for name, value in (values or {}).items():
        (contact if str(name).upper() in known else event)[name] = value
    return contact, event


def _track(
    app: App, email: str, name: str, values: Mapping[str, Any] | None, own: Mapping[str, Any]
) -> None:
    """The contact updated with the attributes among ``values``, and event ``name`` with
    the other values and ``own`` (which win: they are the event's own fields)."""
    definitions = attribute_service.definitions(app)
    attributes, properties = _split(definitions, values)
    if attributes:
        _update_contact(app, email, attributes, definitions)
    properties.update(own)
    report = events.record(
        app, [EventInput(name=name, email=email, properties=properties, source="tracker")]
    )
    if report.rejected:
        raise InvalidParameter(report.rejected[0][1])


@router.post("/trackEvent", status_code=204)
def track_event(body: TrackEvent, app: Journeyman) -> Response:
    """An event; ``properties`` that are attributes update the contact, the others and
    ``eventdata.data`` are the event's properties (with ``eventdata.id`` as ``id``)."""
    if not EVENT_NAME.match(body.event):
        raise InvalidParameter(f"event {body.event!r} is invalid: {EVENT_NAME_RULE}")
    own = dict((body.eventdata.data if body.eventdata else None) or {})
    if body.eventdata and body.eventdata.id is not None:
        own.setdefault("id", body.eventdata.id)
    _track(app, body.email, body.event, body.properties, own)
    return Response(status_code=204)


@router.post("/trackPage", status_code=204)
def track_page(body: TrackPage, app: Journeyman) -> Response:
    """A page view: event ``page_viewed`` with ``page`` and the other ``properties``
    (``ma_url``, ``ma_path``, ``ma_title``, ``ma_referrer``...)."""
    _track(app, body.email, PAGE_VIEWED, body.properties, {"page": body.page})
    return Response(status_code=204)


@router.post("/trackLink", status_code=204)
def track_link(body: TrackLink, app: Journeyman) -> Response:
    """A link click on the site: event ``link_clicked`` with ``link`` and the other
    ``properties``."""
    _track(app, body.email, LINK_CLICKED, body.properties, {"link": body.link})
    return Response(status_code=204)


@router.post("/identify", status_code=204)
def identify(body: Identify, app: Journeyman) -> Response:
    """Create or update a contact by email with ``attributes`` (defined ones only: there
    is no event to keep the others in)."""
    _update_contact(app, body.email, body.attributes, attribute_service.definitions(app))
    return Response(status_code=204)


class TrackerCors:
    """CORS for the tracker's routes only (Starlette's middleware, under :data:`PREFIX`):
    preflights answered for ``origins`` (``*``: any page), the answers marked for them.
    The other routes send no CORS header: their admin keys never belong in a browser."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["POST"],
            allow_headers=["ma-key", "content-type"],
            max_age=3600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        under = scope["type"] == "http" and str(scope["path"]).startswith(PREFIX + "/")
        await (self.cors if under else self.app)(scope, receive, send)
