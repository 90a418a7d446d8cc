"""What the ``/api/v1`` routes share: the router with its key check, paging, errors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from journeyman.api.auth import require_api_key
from journeyman.api.errors import ERROR_RESPONSES, InvalidWorkflowBody
from journeyman.api.wire import JsonRoute

PREFIX = "/api/v1"

Limit = Annotated[int, Query(ge=1, le=1000, description="documents per page")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="index of the first document")]

V1_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    422: {"model": InvalidWorkflowBody, "description": "the workflow document is invalid"},
}


def v1_router(tag: str) -> APIRouter:
    return APIRouter(
        prefix=PREFIX,
        tags=[tag],
        dependencies=[Depends(require_api_key)],
        responses=ERROR_RESPONSES,
        route_class=JsonRoute,
    )
