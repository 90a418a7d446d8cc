"""Brevo's wire format for what several routes answer: times, contacts, pages.

Field names are Brevo's (camelCase where Brevo uses it), so the models need no aliases.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, ClassVar

import orjson
from fastapi import Depends, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from journeyman import nesting
from journeyman.api import limits
from journeyman.api.errors import InvalidParameter
from journeyman.app import App
from journeyman.model.contacts import ContactRecord


class Part(BaseModel):
    """A part of a request body, checked as part of the :class:`Body` that holds it (not
    once more on its own): unknown fields are ignored, as Brevo does."""

    model_config = ConfigDict(extra="ignore")


class Body(Part):
    """A request body: unknown fields are ignored, as Brevo does; a value the database
    cannot hold, or a text over ``max_text`` bytes, anywhere in it, is refused naming its
    path (:mod:`journeyman.api.limits`)."""

    max_text: ClassVar[int | None] = limits.MAX_TEXT_BYTES

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        found = limits.problem(data, max_text=cls.max_text)
        if found is not None:
            raise PydanticCustomError("unstorable", "{problem}", {"problem": found})
        return data


# Digits to "0", everything else to " ": a run of 19 digits is then one ``in`` away.
_DIGITS = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_LONG_NUMBER = b"0" * 19  # 2**63 has 19 digits


MAX_BODY_DEPTH = 64  # levels json reads; deeper ones are refused anyway (limits.MAX_DEPTH)


def parse_json(body: bytes) -> Any:
    """``body`` as ``json.loads`` reads it, by orjson (2.5 times faster) where the two agree.

    They do not on what orjson refuses (NaN, Infinity, unpaired surrogates, a byte order
    mark, UTF-16, nesting past 1024), which ``json`` then reads or refuses as before, and on
    integers past 64 bits, which orjson reads as floats: a body with 19 digits in a row is
    left to ``json``. So a value the database cannot hold reaches :mod:`limits` unchanged
    and is refused with the same message, and a body ``json`` refuses gets the same error.
    ``json`` recurses once per level, so it is given the body with what is nested past
    :data:`MAX_BODY_DEPTH` levels replaced by ``null`` (``nesting.prune_json``): such a
    value is refused by :class:`Body` as nested past ``limits.MAX_DEPTH``, naming its path,
    and the other events of a batch are kept."""
    if _LONG_NUMBER not in body.translate(_DIGITS):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(nesting.prune_json(body, MAX_BODY_DEPTH))


class JsonRequest(Request):
    """A request whose JSON body is read by :func:`parse_json`."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class JsonRoute(APIRoute):
    """A route whose JSON body is read by :func:`parse_json` (FastAPI reads the body with
    ``Request.json``): an ``APIRouter``'s ``route_class`` (faster on large bodies, and
    safe from deeply nested ones)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_json(request: Request) -> Response:
            return await handle(JsonRequest(request.scope, request.receive))

        return handle_json


# Documented for clients and fuzzers; checked with Journeyman's own messages (which name the
# field), hence in the JSON Schema only.
Email = Annotated[str, Field(max_length=limits.EMAIL_LENGTH, json_schema_extra={"format": "email"})]


async def journeyman(request: Request) -> App:
    """(async: a plain function would cost every request a hop to a worker thread)"""
    app: App = request.app.state.journeyman
    return app


Journeyman = Annotated[App, Depends(journeyman)]


def time_text(when: dt.datetime) -> str:
    """Brevo's UTC date-time: ``YYYY-MM-DDTHH:mm:ss.SSSZ``."""
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str | None, field: str) -> dt.datetime | None:
    """An ISO 8601 date or date-time; one without an offset is UTC."""
    if text is None or not text.strip():
        return None
    try:
        when = dt.datetime.fromisoformat(text.strip())
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        # Year 1 with a positive offset, or 9999 with a negative one, is no UTC time.
        return when.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise InvalidParameter(
            f"{field}: {text!r} is not a date-time (YYYY-MM-DDTHH:mm:ss.SSSZ)"
        ) from None


def sort_ascending(sort: str | None) -> bool:
    if sort in (None, "desc"):
        return False
    if sort == "asc":
        return True
    raise InvalidParameter(f"sort: {sort!r} is not asc or desc")


Offset = Annotated[int, Query(ge=0, le=10_000_000, description="index of the first document")]
Sort = Annotated[
    str | None, Query(description="asc or desc (by creation; default desc)", pattern="^(asc|desc)$")
]


class ContactDetails(BaseModel):
    """A contact as Brevo shows it; SMS, WHATSAPP and EXT_ID appear among the attributes."""

    email: str | None
    id: int
    emailBlacklisted: bool
    smsBlacklisted: bool
    whatsappBlacklisted: bool = False
    createdAt: str
    modifiedAt: str
    attributes: dict[str, Any]
    listIds: list[int]
    listUnsubscribed: list[int] = Field(default_factory=list)


class ContactInfo(ContactDetails):
    """One contact, with its (for now empty) campaign statistics."""

    statistics: dict[str, Any] = Field(default_factory=dict)


class ContactsPage(BaseModel):
    contacts: list[ContactDetails]
    count: int


def contact_details(record: ContactRecord) -> ContactDetails:
    attributes = dict(record.attributes)
    for name, value in (("SMS", record.sms), ("WHATSAPP", record.whatsapp)):
        if value:
            attributes[name] = value
    if record.ext_id:
        attributes["EXT_ID"] = record.ext_id
    return ContactDetails(
        email=record.email,
        id=record.id,
        emailBlacklisted=record.email_blocklisted,
        smsBlacklisted=record.sms_blocklisted,
        createdAt=time_text(record.created_at),
        modifiedAt=time_text(record.modified_at),
        attributes=attributes,
        listIds=list(record.list_ids),
    )


class CreatedId(BaseModel):
    id: int
