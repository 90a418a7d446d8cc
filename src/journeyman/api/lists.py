"""``/v3/contacts/lists``: lists and their members."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from journeyman.api.auth import require_api_key
from journeyman.api.errors import ERROR_RESPONSES, InvalidParameter, MissingParameter
from journeyman.api.limits import NAME_LENGTH, ContactId, FolderId, ListIdPath
from journeyman.api.wire import (
    Body,
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
    time_text,
)
from journeyman.model.lists import ListRecord
from journeyman.services import contacts, lists

router = APIRouter(
    prefix="/v3/contacts/lists",
    tags=["lists"],
    dependencies=[Depends(require_api_key)],
    responses=ERROR_RESPONSES,
    route_class=JsonRoute,
)

MAX_MEMBERS = 1000
DEFAULT_FOLDER = 1  # Brevo's first folder; lists created without one show it


class ListSummary(BaseModel):
    id: int
    name: str
    totalBlacklisted: int
    totalSubscribers: int
    uniqueSubscribers: int
    folderId: int


class ListDetails(ListSummary):
    createdAt: str
    dynamicList: bool = False
    campaignStats: list[dict[str, Any]] = Field(default_factory=list)


class ListsPage(BaseModel):
    lists: list[ListSummary]
    count: int


class ListBody(Body):
    name: Annotated[str | None, Field(max_length=NAME_LENGTH)] = None
    folderId: FolderId | None = None


class MemberChange(Body):
    emails: list[Email] | None = None
    ids: list[ContactId] | None = None
    extIds: list[str] | None = None
    all: bool | None = None


class MemberResults(BaseModel):
    success: list[Any] | None = None
    failure: list[Any] | None = None
    total: int | None = None


class MemberChangeAnswer(BaseModel):
    contacts: MemberResults


def summary(record: ListRecord) -> dict[str, Any]:
    folder = record.folder
    return {
        "id": record.id,
        "name": record.name,
        "totalBlacklisted": record.blocklisted,
        "totalSubscribers": record.members,
        "uniqueSubscribers": record.members,
        "folderId": int(folder) if folder and folder.isdigit() else DEFAULT_FOLDER,
    }


@router.get("", response_model=ListsPage)
def get_lists(
    app: Journeyman,
    limit: Annotated[int, Query(ge=0, le=50)] = 10,
    offset: Offset = 0,
    sort: Sort = None,
) -> ListsPage:
    records, total = lists.page(app, limit=limit, offset=offset, ascending=sort_ascending(sort))
    return ListsPage(lists=[ListSummary(**summary(r)) for r in records], count=total)


@router.post("", status_code=201, response_model=CreatedId)
def create_list(body: ListBody, app: Journeyman) -> CreatedId:
    name = (body.name or "").strip()
    if not name:
        raise MissingParameter("name is missing")
    folder = str(body.folderId) if body.folderId is not None else None
    return CreatedId(id=lists.create_in_folder(app, name, folder))


@router.get("/{listId}", response_model=ListDetails)
def get_list(listId: ListIdPath, app: Journeyman) -> ListDetails:
    record = lists.record(app, listId)
    return ListDetails(**summary(record), createdAt=time_text(record.created_at))


@router.put("/{listId}", status_code=204)
def update_list(listId: ListIdPath, body: ListBody, app: Journeyman) -> Response:
    """Rename a list or move it to a folder (a list a workflow names keeps its name)."""
    name = body.name.strip() if body.name is not None else None
    folder = str(body.folderId) if body.folderId is not None else None
    lists.update(app, listId, name=name, folder=folder)
    return Response(status_code=204)


@router.delete("/{listId}", status_code=204)
def delete_list(listId: ListIdPath, app: Journeyman) -> Response:
    lists.delete(app, listId)
    return Response(status_code=204)


@router.get("/{listId}/contacts", response_model=ContactsPage)
def get_list_contacts(
    listId: ListIdPath,
    app: Journeyman,
    modifiedSince: str | None = None,
    limit: Annotated[int, Query(ge=0, le=500)] = 50,
    offset: Offset = 0,
    sort: Sort = None,
) -> ContactsPage:
    lists.record(app, listId)
    records, total = contacts.page(
        app,
        limit=limit,
        offset=offset,
        ascending=sort_ascending(sort),
        modified_since=parse_time(modifiedSince, "modifiedSince"),
        list_ids=(listId,),
    )
    return ContactsPage(contacts=[contact_details(r) for r in records], count=total)


def _named(app: Journeyman, body: MemberChange) -> list[tuple[Any, int | None]]:
    """(what the client sent, the contact id it names or None), in the order sent."""
    given = [
        (kind, values)
        for kind, values in (
            ("email_id", body.emails),
            ("contact_id", body.ids),
            ("ext_id", body.extIds),
        )
        if values
    ]
    if len(given) != 1:
        raise MissingParameter("pass one of emails, ids or extIds")
    kind, values = given[0]
    if len(values) > MAX_MEMBERS:
        raise InvalidParameter(f"at most {MAX_MEMBERS} contacts per request")
    keys = [str(v).strip().lower() if kind == "email_id" else v for v in values]
    ids = contacts.ids_by(app, kind, keys)
    return [(value, ids.get(key)) for value, key in zip(values, keys, strict=True)]


@router.post(
    "/{listId}/contacts/add",
    status_code=201,
    response_model=MemberChangeAnswer,
    response_model_exclude_none=True,
)
def add_to_list(listId: ListIdPath, body: MemberChange, app: Journeyman) -> MemberChangeAnswer:
    """Add contacts; the ones that do not exist or are in the list already fail."""
    lists.record(app, listId)
    named = _named(app, body)
    added = lists.add_members(app, listId, [i for _, i in named if i])
    joins = [(v, i) for v, i in named if i is not None and i in added]
    success = [v for v, _ in joins]
    failure = [v for v, i in named if (v, i) not in joins]
    return MemberChangeAnswer(contacts=MemberResults(success=success, failure=failure))


@router.post(
    "/{listId}/contacts/remove",
    status_code=201,
    response_model=MemberChangeAnswer,
    response_model_exclude_none=True,
)
def remove_from_list(listId: ListIdPath, body: MemberChange, app: Journeyman) -> MemberChangeAnswer:
    """Remove contacts (or ``all``); the ones not in the list fail."""
    lists.record(app, listId)
    if body.all:
        return MemberChangeAnswer(contacts=MemberResults(total=lists.remove_all(app, listId)))
    named = _named(app, body)
    removed = lists.remove_members(app, listId, [i for _, i in named if i])
    leaving = [(v, i) for v, i in named if i is not None and i in removed]
    success = [v for v, _ in leaving]
    failure = [v for v, i in named if (v, i) not in leaving]
    return MemberChangeAnswer(contacts=MemberResults(success=success, failure=failure))
