"""``/api/v1/contacts``: contacts searched by email, attributes and lists, and sorted by any
number attribute (``services.browse.search_contacts``); each in ``/v3/contacts``' shape."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel

from journeyman.api.limits import MAX_INTEGER
from journeyman.api.v1.common import Limit, Offset, v1_router
from journeyman.api.wire import ContactDetails, Journeyman, contact_details
from journeyman.services import browse

router = v1_router("contacts")

MAX_FILTERS = 20


class ContactSearchPage(BaseModel):
    contacts: list[ContactDetails]
    count: int
    limit: int
    offset: int


@router.get("/contacts", response_model=ContactSearchPage)
def search_contacts(
    app: Journeyman,
    search: Annotated[
        str | None, Query(max_length=320, description="a part of the email address")
    ] = None,
    list_ids: Annotated[
        list[Annotated[int, Query(ge=1, le=MAX_INTEGER)]],
        Query(alias="list", max_length=20, description="a list id; repeated: a member of each"),
    ] = [],  # noqa: B006 (FastAPI copies a query default)
    filters: Annotated[
        list[Annotated[str, Query(max_length=500)]],
        Query(
            alias="filter",
            max_length=MAX_FILTERS,
            description="ATTRIBUTE:op:value, op one of eq, ne, lt, lte, gt, gte, contains, "
            "set, unset (e.g. LEAD_SCORE:gte:50, CITY:eq:Berlin, VIP:eq:true); repeated: all",
        ),
    ] = [],  # noqa: B006
    sort: Annotated[
        str | None,
        Query(
            max_length=120,
            description="created or a number attribute, '-' first for descending "
            "(e.g. -LEAD_SCORE); default -created",
        ),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ContactSearchPage:
    """A page of the contacts that match every condition given, and how many match."""
    records, total = browse.search_contacts(
        app,
        search=search,
        lists=list_ids,
        filters=filters,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    return ContactSearchPage(
        contacts=[contact_details(r) for r in records], count=total, limit=limit, offset=offset
    )
