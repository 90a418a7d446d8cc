"""Team members (owners of contacts, deals and tasks), and the deals and tasks workflows
create for them."""

from __future__ import annotations

from typing import Any

from journeyman.services.context import Context
from journeyman.store import crm as store
from journeyman.store import read_transaction, transaction


def create(context: Context, name: str, email: str) -> int:
    """A team member: its id; the email must be new."""
    with transaction(context.engine) as connection:
        return store.create_user_txn(connection, name, email, context.clock.now())


def listed(context: Context) -> list[dict[str, Any]]:
    """Every team member: id, name, email."""
    with read_transaction(context.engine) as connection:
        return store.list_users_txn(connection)


def deals(context: Context, *, limit: int = 100) -> list[dict[str, Any]]:
    """The newest deals first, with the owner's and the contact's email."""
    with read_transaction(context.engine) as connection:
        return store.list_deals_txn(connection, limit=limit)


def tasks(context: Context, *, limit: int = 100) -> list[dict[str, Any]]:
    """The newest tasks first."""
    with read_transaction(context.engine) as connection:
        return store.list_tasks_txn(connection, limit=limit)
