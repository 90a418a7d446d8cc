"""The team (users: owners of contacts, deals and tasks) and the deals and tasks workflows
create for it."""

from __future__ import annotations

from typing import Any

from journeyman.services.context import Context
from journeyman.store import crm, read_transaction, transaction


def create_user(context: Context, name: str, email: str) -> int:
    """A team member: its id; the email must be new."""
    with transaction(context.engine) as connection:
        return crm.create_user_txn(connection, name, email, context.clock.now())


def users(context: Context) -> list[dict[str, Any]]:
    """The team members (id, name, email), oldest first."""
    with read_transaction(context.engine) as connection:
        return crm.list_users_txn(connection)


def deals(context: Context, *, limit: int = 100) -> list[dict[str, Any]]:
    """The newest deals first, with their owner's and contact's emails."""
    with read_transaction(context.engine) as connection:
        return crm.list_deals_txn(connection, limit=limit)


def tasks(context: Context, *, limit: int = 100) -> list[dict[str, Any]]:
    """The newest tasks first, with their assignee's and contact's emails."""
    with read_transaction(context.engine) as connection:
        return crm.list_tasks_txn(connection, limit=limit)
