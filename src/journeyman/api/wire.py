"""Brevo's wire format for what several routes answer: times, contacts, pages.

Field names are Brevo's (camelCase where Brevo uses it), so the models need no aliases.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from journeyman.api.errors import InvalidParameter
from journeyman.app import App
from journeyman.store.api_reads import ContactRecord


class Body(BaseModel):
    """A request body: unknown fields are ignored, as Brevo does."""

    model_config = ConfigDict(extra="ignore")


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
    except ValueError:
        raise InvalidParameter(
            f"{field}: {text!r} is not a date-time (YYYY-MM-DDTHH:mm:ss.SSSZ)"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


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
