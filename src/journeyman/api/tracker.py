"""Brevo's legacy tracker: ``POST /api/v2/trackEvent`` and ``/api/v2/identify`` with the
``ma-key`` header (any API key of this server)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from journeyman.api import changes
from journeyman.api.auth import require_ma_key
from journeyman.api.errors import ERROR_RESPONSES, InvalidParameter
from journeyman.api.events import EVENT_NAME, EVENT_NAME_RULE, EventName
from journeyman.api.wire import Body, Email, Journeyman, Part
from journeyman.app import EventInput

router = APIRouter(
    prefix="/api/v2",
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


def _update_contact(app: Journeyman, email: str, values: dict[str, Any] | None) -> None:
    contact, _ = changes.contact_input(email, values, app.attribute_definitions())
    changes.apply(app, [changes.ContactChange(contact=contact)])


@router.post("/trackEvent", status_code=204)
def track_event(body: TrackEvent, app: Journeyman) -> Response:
    """An event; ``properties`` update the contact, ``eventdata.data`` are the event's
    properties (with ``eventdata.id`` as ``id``)."""
    if not EVENT_NAME.match(body.event):
        raise InvalidParameter(f"event {body.event!r} is invalid: {EVENT_NAME_RULE}")
    if body.properties:
        _update_contact(app, body.email, body.properties)
    properties = dict((body.eventdata.data if body.eventdata else None) or {})
    if body.eventdata and body.eventdata.id is not None:
        properties.setdefault("id", body.eventdata.id)
    report = app.record_events(
        [EventInput(name=body.event, email=body.email, properties=properties, source="tracker")]
    )
    if report.rejected:
        raise InvalidParameter(report.rejected[0][1])
    return Response(status_code=204)


@router.post("/identify", status_code=204)
def identify(body: Identify, app: Journeyman) -> Response:
    """Create or update a contact by email with ``attributes``."""
    _update_contact(app, body.email, body.attributes)
    return Response(status_code=204)
