"""``/api/v1/users`` and ``/api/v1/schema``: what the builder offers to pick from and the
schema its forms are generated from (``journeyman workflow schema``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from journeyman.api.v1.common import v1_router
from journeyman.api.wire import Journeyman
from journeyman.services import browse

router = v1_router("catalogue")


class User(BaseModel):
    id: int
    name: str
    email: str


class UserList(BaseModel):
    users: list[User]
    count: int


@router.get("/users", response_model=UserList)
def list_users(app: Journeyman) -> UserList:
    """The CRM users: owners of contacts, deals and tasks (``assign_user``, ``create_task``)."""
    found = [User(**u) for u in browse.users(app)]
    return UserList(users=found, count=len(found))


@router.get("/schema", response_model=dict[str, Any])
def workflow_schema() -> dict[str, Any]:
    """The JSON Schema of workflow documents, the one ``apply`` validates against."""
    return browse.workflow_schema()
