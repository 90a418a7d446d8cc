"""``/v3/contacts``: create, read, update, delete, list, batch update and import contacts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from journeyman.api.auth import require_api_key
from journeyman.api.contact_input import contact_input
from journeyman.api.errors import (
    ERROR_RESPONSES,
    ApiError,
    InvalidParameter,
    MissingParameter,
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
) -> ContactsPage:
    """Contacts, newest first (``sort=asc``: oldest first)."""
    records, total = contacts.page(
        app,
        limit=limit,
        offset=offset,
        ascending=sort_ascending(sort),
        modified_since=parse_time(modifiedSince, "modifiedSince"),
        created_since=parse_time(createdSince, "createdSince"),
        list_ids=listIds or (),
        ids=ids or (),
    )
    return ContactsPage(contacts=[contact_details(r) for r in records], count=total)


@router.get("/{identifier}", response_model=ContactInfo)
def get_contact(identifier: str, app: Journeyman, identifierType: IdentifierType = None) -> Any:
    """One contact by email, id, SMS number or ext_id."""
    record = contacts.record(app, identifier, identifierType)
    return ContactInfo(**contact_details(record).model_dump())


@router.put("/{identifier}", status_code=204)
def update_contact(
    identifier: str,
    body: UpdateContact,
    app: Journeyman,
    identifierType: IdentifierType = None,
) -> Response:
    """Update attributes (``EMAIL`` changes the address; an empty value clears an
    attribute), blocklist flags and list memberships."""
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
    identifier: str, app: Journeyman, identifierType: IdentifierType = None
) -> Response:
    """Delete a contact with its events, runs and memberships (its sent messages stay)."""
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
