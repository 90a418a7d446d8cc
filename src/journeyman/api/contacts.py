"""``/v3/contacts``: create, read, update, delete, list, batch update and import contacts."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from journeyman.api.auth import require_api_key
from journeyman.api.contact_input import contact_input
from journeyman.api.errors import (
    ERROR_RESPONSES,
    ApiError,
    InvalidParameter,
    MissingParameter,
    not_implemented,
)
from journeyman.api.limits import NAME_LENGTH, ContactId, ListId
from journeyman.api.wire import (
    Body,
    ContactInfo,
    ContactsPage,
    CreatedId,
    Email,
    Journeyman,
    JsonRoute,
    Offset,
    Sort,
    contact_details,
    parse_time,
    sort_ascending,
)
from journeyman.errors import InvalidInput, NotFound
from journeyman.model.contacts import IDENTIFIER_KINDS
from journeyman.services import attributes, contacts
from journeyman.services.contacts import ContactChange

router = APIRouter(
    prefix="/v3/contacts",
    tags=["contacts"],
    dependencies=[Depends(require_api_key)],
    responses=ERROR_RESPONSES,
    route_class=JsonRoute,
)

MAX_BATCH = 1000
IdentifierType = Annotated[
    str | None,
    Query(
        alias="identifierType",
        json_schema_extra={"enum": list(IDENTIFIER_KINDS)},
        description="email_id, contact_id, ext_id, phone_id or whatsapp_id "
        "(default: what the identifier looks like)",
    ),
]


class CreateContact(Body):
    email: Email | None = None
    ext_id: Annotated[str | None, Field(max_length=NAME_LENGTH)] = None
    attributes: dict[str, Any] | None = None
    emailBlacklisted: bool | None = None
    smsBlacklisted: bool | None = None
    listIds: list[ListId] | None = None
    updateEnabled: bool = False
    smtpBlacklistSender: list[str] | None = None


class UpdateContact(Body):
    attributes: dict[str, Any] | None = None
    ext_id: Annotated[str | None, Field(max_length=NAME_LENGTH)] = None
    emailBlacklisted: bool | None = None
    smsBlacklisted: bool | None = None
    listIds: list[ListId] | None = None
    unlinkListIds: list[ListId] | None = None
    smtpBlacklistSender: list[str] | None = None


@router.post(
    "",
    status_code=201,
    response_model=CreatedId,
    responses={204: {"description": "the contact existed and was updated (updateEnabled)"}},
)
def create_contact(body: CreateContact, app: Journeyman) -> Any:
    """Create a contact by email; with ``updateEnabled`` an existing one is updated."""
    if not body.email:
        raise MissingParameter(
            "email is missing: contacts are created by email address "
            "(contacts with only an ext_id or SMS number are not supported yet)"
        )
    contact, _ = contact_input(
        body.email, body.attributes, attributes.definitions(app), ext_id=body.ext_id
    )
    change = ContactChange(
        contact=contact,
        email_blocklisted=body.emailBlacklisted,
        sms_blocklisted=body.smsBlacklisted,
        join=tuple(body.listIds or ()),
    )
    created, _ = contacts.apply(app, [change], refuse_existing=not body.updateEnabled)
    if not created:
        return Response(status_code=204)
    return CreatedId(id=contacts.id_of(app, contact.email))


@router.get("", response_model=ContactsPage)
def get_contacts(
    app: Journeyman,
    limit: Annotated[int, Query(ge=0, le=1000)] = 50,
    offset: Offset = 0,
    modifiedSince: str | None = None,
    createdSince: str | None = None,
    sort: Sort = None,
    listIds: Annotated[list[ListId] | None, Query()] = None,
    ids: Annotated[list[ContactId] | None, Query(max_length=20)] = None,
    filter: Annotated[
        str | None,
        Query(
            max_length=1000,
            description='Brevo\'s filter: equals(ATTRIBUTE,"value") or equals(EMAIL,"a@b.c"); '
            "a category attribute by label or number. Other filters are refused (400).",
        ),
    ] = None,
    segmentId: Annotated[
        int | None, Query(description="refused (400): Journeyman has no Brevo segments")
    ] = None,
) -> ContactsPage:
    """Contacts, newest first (``sort=asc``: oldest first), optionally those that match
    ``filter``. A parameter Journeyman cannot honour is refused, never ignored."""
    if segmentId is not None:
        raise InvalidParameter(
            "segmentId: Journeyman has no Brevo segments, so it cannot list a segment's "
            'contacts (filter with equals(ATTRIBUTE,"value"), or use listIds)'
        )
    records, total = contacts.page(
        app,
        limit=limit,
        offset=offset,
        ascending=sort_ascending(sort),
        modified_since=parse_time(modifiedSince, "modifiedSince"),
        created_since=parse_time(createdSince, "createdSince"),
        list_ids=listIds or (),
        ids=ids or (),
        equals=[parse_filter(filter)] if filter is not None else (),
    )
    return ContactsPage(contacts=[contact_details(r) for r in records], count=total)


_EQUALS = re.compile(r"^\s*equals\(\s*([A-Za-z][A-Za-z0-9_]*)\s*,\s*(.*?)\s*\)\s*$", re.DOTALL)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def parse_filter(text: str) -> tuple[str, Any]:
    """Brevo's ``equals(NAME,value)``: the name and the value (a quoted text unquoted,
    ``true`` / ``false`` as booleans, numbers as they are written); anything else is a 400
    naming the parameter, so that no filter is ever ignored."""
    found = _EQUALS.match(text)
    if found is None:
        raise InvalidParameter(
            f'filter {text!r} is not supported: Journeyman takes equals(ATTRIBUTE,"value") '
            "on one attribute or EMAIL (Brevo's only operator)"
        )
    name, raw = found.group(1), found.group(2)
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return name, raw[1:-1]
    if raw in ("true", "false"):
        return name, raw == "true"
    if _NUMBER.match(raw):
        return name, raw
    raise InvalidParameter(
        f"filter {text!r}: the value {raw!r} is not a quoted text, a number, true or false"
    )


# Brevo's fixed paths under /v3/contacts that /v3/contacts/{identifier} would otherwise take
# for a contact named so (and answer "Contact does not exist"): those Journeyman lacks, and
# those it has, asked with a method they do not take here (PUT /v3/contacts/folders).
UNIMPLEMENTED = (
    "segments",
    "export",
    "doubleOptinConfirmation",
    "folders",
    "lists",
    "attributes",
    "import",
    "batch",
)


def _refuse_fixed_path(identifier: str, request: Request) -> None:
    if identifier in UNIMPLEMENTED:
        raise not_implemented(request.method, request.url.path)


@router.post("/export", include_in_schema=False)
@router.post("/doubleOptinConfirmation", include_in_schema=False)
def unimplemented_contacts_route(request: Request) -> Response:
    raise not_implemented(request.method, request.url.path)


@router.get("/{identifier}", response_model=ContactInfo)
def get_contact(
    identifier: str, request: Request, app: Journeyman, identifierType: IdentifierType = None
) -> Any:
    """One contact by email, id, SMS number or ext_id."""
    _refuse_fixed_path(identifier, request)
    record = contacts.record(app, identifier, identifierType)
    return ContactInfo(**contact_details(record).model_dump())


@router.put("/{identifier}", status_code=204)
def update_contact(
    identifier: str,
    body: UpdateContact,
    request: Request,
    app: Journeyman,
    identifierType: IdentifierType = None,
) -> Response:
    """Update attributes (``EMAIL`` changes the address; an empty value clears an
    attribute), blocklist flags and list memberships."""
    _refuse_fixed_path(identifier, request)
    contact_id = contacts.resolve(app, identifier, identifierType)
    contacts.apply(app, [_update(app, contact_id, body)])
    return Response(status_code=204)


def _update(app: Journeyman, contact_id: int, body: UpdateContact) -> ContactChange:
    contact, new_email = contact_input(
        contacts.email_of(app, contact_id),
        body.attributes,
        attributes.definitions(app),
        ext_id=body.ext_id,
        keep_empty=True,
    )
    return ContactChange(
        contact=contact,
        new_email=new_email,
        email_blocklisted=body.emailBlacklisted,
        sms_blocklisted=body.smsBlacklisted,
        join=tuple(body.listIds or ()),
        leave=tuple(body.unlinkListIds or ()),
    )


@router.delete("/{identifier}", status_code=204)
def delete_contact(
    identifier: str, request: Request, app: Journeyman, identifierType: IdentifierType = None
) -> Response:
    """Delete a contact with its events, runs and memberships (its sent messages stay)."""
    _refuse_fixed_path(identifier, request)
    contacts.delete(app, identifier, identifierType)
    return Response(status_code=204)


class BatchContact(UpdateContact):
    email: Email | None = None
    id: ContactId | None = None
    sms: str | None = None


class BatchContacts(Body):
    contacts: list[BatchContact]


@router.post("/batch", status_code=204)
def update_batch_contacts(body: BatchContacts, app: Journeyman) -> Response:
    """Update several contacts, each named by one of email, id or sms; nothing is written
    when one of them is refused (the message names its index)."""
    if len(body.contacts) > MAX_BATCH:
        raise InvalidParameter(f"contacts: at most {MAX_BATCH} per request")
    found: list[ContactChange] = []
    for index, item in enumerate(body.contacts):
        named = [
            (k, v)
            for k, v in (("email_id", item.email), ("contact_id", item.id), ("phone_id", item.sms))
            if v is not None
        ]
        if len(named) != 1:
            raise InvalidParameter(f"contacts[{index}]: pass exactly one of email, id or sms")
        try:
            contact_id = contacts.resolve(app, named[0][1], named[0][0])
            found.append(_update(app, contact_id, item))
        except (ApiError, InvalidInput, NotFound) as exc:
            raise type(exc)(f"contacts[{index}]: {exc}") from exc
    contacts.apply(app, found)
    return Response(status_code=204)
