"""Lists as the API shows them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class ListRecord:
    """A list with its member counts (all members, and those blocklisted for email)."""

    id: int
    name: str
    folder: str | None
    created_at: dt.datetime
    members: int
    blocklisted: int


@dataclass(frozen=True, kw_only=True)
class FolderRecord:
    """A folder of lists with the members of its lists: all memberships, distinct contacts,
    and distinct contacts blocklisted for email."""

    id: int
    name: str
    memberships: int
    contacts: int
    blocklisted: int
