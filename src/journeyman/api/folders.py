"""``/v3/contacts/folders``: the folders lists belong to, and each folder's lists.

A list created without a ``folderId`` is in the first folder (id 1), which is never
deleted; deleting another folder deletes its lists, as Brevo does (not while a workflow
names one of them).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from journeyman.api.auth import require_api_key
from journeyman.api.errors import ERROR_RESPONSES, MissingParameter
from journeyman.api.limits import NAME_LENGTH, FolderIdPath
from journeyman.api.lists import ListSummary, summary
from journeyman.api.wire import Body, CreatedId, Journeyman, JsonRoute, Offset, Sort, sort_ascending
from journeyman.model.lists import FolderRecord
from journeyman.services import lists

router = APIRouter(
    prefix="/v3/contacts/folders",
    tags=["folders"],
    dependencies=[Depends(require_api_key)],
    responses=ERROR_RESPONSES,
    route_class=JsonRoute,
)


class Folder(BaseModel):
    id: int
    name: str
    totalBlacklisted: int
    totalSubscribers: int
    uniqueSubscribers: int


class FoldersPage(BaseModel):
    folders: list[Folder]
    count: int


class FolderLists(BaseModel):
    lists: list[ListSummary]
    count: int


class FolderBody(Body):
    name: Annotated[str | None, Field(max_length=NAME_LENGTH)] = None


def _folder(record: FolderRecord) -> Folder:
    return Folder(
        id=record.id,
        name=record.name,
        totalBlacklisted=record.blocklisted,
        totalSubscribers=record.memberships,
        uniqueSubscribers=record.contacts,
    )


def _name(body: FolderBody) -> str:
    name = (body.name or "").strip()
    if not name:
        raise MissingParameter("name is missing")
    return name


@router.get("", response_model=FoldersPage)
def get_folders(
    app: Journeyman,
    limit: Annotated[int, Query(ge=0, le=50)] = 10,
    offset: Offset = 0,
    sort: Sort = None,
) -> FoldersPage:
    records, total = lists.folders_page(
        app, limit=limit, offset=offset, ascending=sort_ascending(sort)
    )
    return FoldersPage(folders=[_folder(r) for r in records], count=total)


@router.post("", status_code=201, response_model=CreatedId)
def create_folder(body: FolderBody, app: Journeyman) -> CreatedId:
    return CreatedId(id=lists.create_folder(app, _name(body)))


@router.get("/{folderId}", response_model=Folder)
def get_folder(folderId: FolderIdPath, app: Journeyman) -> Folder:
    return _folder(lists.folder(app, folderId))


@router.put("/{folderId}", status_code=204)
def update_folder(folderId: FolderIdPath, body: FolderBody, app: Journeyman) -> Response:
    lists.rename_folder(app, folderId, _name(body))
    return Response(status_code=204)


@router.delete("/{folderId}", status_code=204)
def delete_folder(folderId: FolderIdPath, app: Journeyman) -> Response:
    """The folder and its lists (not the first folder; not while a workflow names one of
    its lists)."""
    lists.delete_folder(app, folderId)
    return Response(status_code=204)


@router.get("/{folderId}/lists", response_model=FolderLists)
def get_folder_lists(
    folderId: FolderIdPath,
    app: Journeyman,
    limit: Annotated[int, Query(ge=0, le=50)] = 10,
    offset: Offset = 0,
    sort: Sort = None,
) -> FolderLists:
    records, total = lists.folder_lists(
        app, folderId, limit=limit, offset=offset, ascending=sort_ascending(sort)
    )
    return FolderLists(lists=[ListSummary(**summary(r)) for r in records], count=total)
