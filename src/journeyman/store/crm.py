"""Users (team members), deals and tasks; the CRM effects of workflows.

The effects are written in bulk, in the transaction that advances the runs: a constant
number of statements per batch, whatever its size. Owners are resolved here, not in the
step: a round-robin's position lives in ``round_robin`` (one row per workflow step) and
moves forward atomically, by the batch's count, in the same transaction. Concurrent
batches (several workers) therefore draw disjoint ranges of positions and the rotation
stays fair across them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from journeyman.errors import InvalidInput
from journeyman.model.contacts import normalize_email
from journeyman.model.effects import AssignOwner, CreateDeal, CreateTask, OwnerChoice
from journeyman.store import system_events
from journeyman.store.bulk import Bulk
from journeyman.store.dialects import one_of
from journeyman.store.schema import contacts, deals, round_robin, tasks, users

# --- users --------------------------------------------------------------------------------


def create_user_txn(connection: Connection, name: str, email: str, now: dt.datetime) -> int:
    """A new team member; its email (case-insensitive) must be new. Its id."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput(f"user name {name!r}: expected 1 to 200 characters")
    email = normalize_email(email)
    if users_by_email_txn(connection, [email]):
        raise InvalidInput(f"user {email} exists already")
    inserted = connection.execute(
        sa.insert(users).values(name=name, email=email, created_at=now).returning(users.c.id)
    )
    return int(inserted.scalar_one())


def users_by_email_txn(connection: Connection, emails: Iterable[str]) -> dict[str, int]:
    """Email -> user id, for those of ``emails`` (lower-case) that are users."""
    wanted = set(emails)
    if not wanted:
        return {}
    rows = connection.execute(
        sa.select(users.c.email, users.c.id).where(one_of(connection, users.c.email, wanted))
    )
    return {r.email: r.id for r in rows}


def list_users_txn(connection: Connection) -> list[dict[str, Any]]:
    statement = sa.select(users.c.id, users.c.name, users.c.email).order_by(users.c.id)
    return [dict(r._mapping) for r in connection.execute(statement)]


# --- deals and tasks, as the CLI lists them -----------------------------------------------


def list_deals_txn(connection: Connection, *, limit: int = 100) -> list[dict[str, Any]]:
    """The newest deals first, with the owner's and the contact's email."""
    statement = (
        sa.select(
            deals.c.id,
            deals.c.name,
            deals.c.pipeline,
            deals.c.stage,
            deals.c.amount,
            deals.c.status,
            users.c.email.label("owner"),
            contacts.c.email.label("contact"),
            deals.c.created_at,
        )
        .select_from(
            deals.outerjoin(users, users.c.id == deals.c.owner_id).outerjoin(
                contacts, contacts.c.id == deals.c.contact_id
            )
        )
        .order_by(deals.c.id.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in connection.execute(statement)]


def list_tasks_txn(connection: Connection, *, limit: int = 100) -> list[dict[str, Any]]:
    """The newest tasks first, with the assignee's and the contact's email."""
    statement = (
        sa.select(
            tasks.c.id,
            tasks.c.title,
            tasks.c.type,
            tasks.c.due_at,
            users.c.email.label("assignee"),
            contacts.c.email.label("contact"),
            tasks.c.deal_id,
            tasks.c.done,
        )
        .select_from(
            tasks.outerjoin(users, users.c.id == tasks.c.assignee_id).outerjoin(
                contacts, contacts.c.id == tasks.c.contact_id
            )
        )
        .order_by(tasks.c.id.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in connection.execute(statement)]


# --- the effects --------------------------------------------------------------------------


def apply_txn(
    connection: Connection,
    assigns: Sequence[AssignOwner],
    new_deals: Sequence[CreateDeal],
    new_tasks: Sequence[CreateTask],
    now: dt.datetime,
) -> None:
    """Owners first (so a deal or task for the contact's owner sees this batch's
    assignments), then deals, then tasks (so a task finds a deal created with it)."""
    choices = [
        *(a.owner for a in assigns),
        *(d.owner for d in new_deals),
        *(t.assignee for t in new_tasks),
    ]
    chosen = _resolve_txn(connection, choices)
    bulk = Bulk(connection)
    at = bulk.time(now)
    owners = chosen[: len(assigns)]
    rows = [(o, at, a.contact_id) for a, o in zip(assigns, owners, strict=True) if o is not None]
    bulk.update(contacts, ["owner_id", "modified_at"], rows)
    deal_owners = chosen[len(assigns) : len(assigns) + len(new_deals)]
    task_owners = chosen[len(assigns) + len(new_deals) :]
    contact_owners = _contact_owners_txn(
        connection,
        [
            *(d.contact_id for d in new_deals if _inherits(d.owner)),
            *(t.contact_id for t in new_tasks if _inherits(t.assignee)),
        ],
    )
    fresh = system_events.new_deals_txn(connection, new_deals)
    _insert_deals(bulk, new_deals, deal_owners, contact_owners, at)
    system_events.deals_created_txn(connection, fresh, now)
    _insert_tasks_txn(connection, bulk, new_tasks, task_owners, contact_owners, at)


def _inherits(choice: OwnerChoice) -> bool:
    return choice.user is None and not choice.round_robin


def _insert_deals(
    bulk: Bulk,
    items: Sequence[CreateDeal],
    owners: Sequence[int | None],
    contact_owners: dict[int, int | None],
    at: Any,
) -> None:
    rows = [
        (
            d.name,
            d.pipeline,
            d.stage,
            d.amount,
            contact_owners.get(d.contact_id) if _inherits(d.owner) else owner,
            "open",
            d.contact_id,
            d.source_key,
            at,
        )
        for d, owner in zip(items, owners, strict=True)
    ]
    columns = (
        "name",
        "pipeline",
        "stage",
        "amount",
        "owner_id",
        "status",
        "contact_id",
        "source_key",
        "created_at",
    )
    bulk.insert(deals, columns, rows, ignore_conflicts=True)


def _insert_tasks_txn(
    connection: Connection,
    bulk: Bulk,
    items: Sequence[CreateTask],
    owners: Sequence[int | None],
    contact_owners: dict[int, int | None],
    at: Any,
) -> None:
    if not items:
        return
    latest = _latest_deals_txn(connection, [t.contact_id for t in items])
    rows = [
        (
            t.title,
            t.type,
            bulk.time(t.due_at),
            contact_owners.get(t.contact_id) if _inherits(t.assignee) else owner,
            t.contact_id,
            latest.get(t.contact_id),
            False,
            t.source_key,
            at,
        )
        for t, owner in zip(items, owners, strict=True)
    ]
    columns = (
        "title",
        "type",
        "due_at",
        "assignee_id",
        "contact_id",
        "deal_id",
        "done",
        "source_key",
        "created_at",
    )
    bulk.insert(tasks, columns, rows, ignore_conflicts=True)


def _resolve_txn(connection: Connection, choices: Sequence[OwnerChoice]) -> list[int | None]:
    """The user id of each fixed or round-robin choice, in order; None for the others
    (the contact's owner, or a user that no longer exists)."""
    emails = {c.user for c in choices if c.user} | {e for c in choices for e in c.round_robin}
    ids = users_by_email_txn(connection, emails)
    starts = _advance_txn(connection, Counter(c.rotation for c in choices if c.round_robin))
    result: list[int | None] = []
    for choice in choices:
        if choice.user is not None:
            result.append(ids.get(choice.user))
        elif choice.round_robin:
            position = starts[choice.rotation]
            starts[choice.rotation] = position + 1
            result.append(ids.get(choice.round_robin[position % len(choice.round_robin)]))
        else:
            result.append(None)
    return result


def _advance_txn(connection: Connection, counts: Counter[str]) -> dict[str, int]:
    """Move each rotation forward by its count, in one statement; rotation -> the position
    this batch starts from. The upsert locks the rows until the transaction ends, so a
    concurrent batch waits and then starts where this one stops (keys in a fixed order:
    no deadlock between two batches)."""
    if not counts:
        return {}
    dialect: Any = postgresql if connection.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(round_robin).values(
        [{"key": key, "position": counts[key]} for key in sorted(counts)]
    )
    statement = insert.on_conflict_do_update(
        index_elements=[round_robin.c.key],
        set_={"position": round_robin.c.position + insert.excluded.position},
    ).returning(round_robin.c.key, round_robin.c.position)
    return {r.key: int(r.position) - counts[r.key] for r in connection.execute(statement)}


def _contact_owners_txn(
    connection: Connection, contact_ids: Sequence[int]
) -> dict[int, int | None]:
    if not contact_ids:
        return {}
    rows = connection.execute(
        sa.select(contacts.c.id, contacts.c.owner_id).where(
            one_of(connection, contacts.c.id, contact_ids)
        )
    )
    return {r.id: r.owner_id for r in rows}


def _latest_deals_txn(connection: Connection, contact_ids: Sequence[int]) -> dict[int, int]:
    """Contact id -> its most recent deal (the highest id)."""
    rows = connection.execute(
        sa.select(deals.c.contact_id, sa.func.max(deals.c.id).label("deal_id"))
        .where(one_of(connection, deals.c.contact_id, contact_ids))
        .group_by(deals.c.contact_id)
    )
    return {r.contact_id: r.deal_id for r in rows}
