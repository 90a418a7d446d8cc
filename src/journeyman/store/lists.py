"""Lists and membership: written, read for the engine and the API, deleted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.model.effects import JoinList, LeaveList
from journeyman.model.lists import FolderRecord, ListRecord
from journeyman.store import fast, system_events
from journeyman.store.bulk import Bulk
from journeyman.store.dialects import one_of
from journeyman.store.schema import contact_folders, contacts, list_members, lists


def list_ids_txn(connection: Connection) -> dict[str, int]:
    return {r.name: r.id for r in connection.execute(sa.select(lists.c.name, lists.c.id))}


def ensure_lists_txn(connection: Connection, names: Iterable[str], now: dt.datetime) -> list[str]:
    """Create the lists that do not exist yet; the names created."""
    existing = list_ids_txn(connection)
    missing = sorted(set(names) - existing.keys())
    if missing:
        connection.execute(sa.insert(lists), [{"name": n, "created_at": now} for n in missing])
    return missing


def list_summaries_txn(connection: Connection) -> list[dict[str, Any]]:
    count = sa.func.count(list_members.c.contact_id)
    statement = (
        sa.select(lists.c.id, lists.c.name, lists.c.folder, count.label("members"))
        .select_from(lists.outerjoin(list_members))
        .group_by(lists.c.id, lists.c.name, lists.c.folder)
        .order_by(lists.c.id)
    )
    return [dict(r._mapping) for r in connection.execute(statement)]


def memberships_txn(
    connection: Connection, contact_ids: Iterable[int]
) -> dict[int, frozenset[str]]:
    """Contact id -> names of the lists it is in (absent: in none)."""
    found: dict[int, set[str]] = {}
    statement = sa.select(list_members.c.contact_id, lists.c.name).join(lists)
    statement = statement.where(one_of(connection, list_members.c.contact_id, contact_ids))
    for contact_id, name in fast.rows(connection, statement):
        found.setdefault(contact_id, set()).add(name)
    return {k: frozenset(v) for k, v in found.items()}


def join_lists_txn(connection: Connection, joins: Sequence[JoinList], now: dt.datetime) -> None:
    """Add memberships; one that exists already stays as it is."""
    system_events.list_joins_txn(connection, joins, now)
    bulk = Bulk(connection)
    at = bulk.time(now)
    bulk.insert(
        list_members,
        ("list_id", "contact_id", "added_at"),
        [(j.list_id, j.contact_id, at) for j in joins],
        ignore_conflicts=True,
    )


def leave_lists_txn(connection: Connection, leaves: Sequence[LeaveList], now: dt.datetime) -> None:
    system_events.list_leaves_txn(connection, leaves, now)
    if leaves:
        connection.execute(
            sa.delete(list_members).where(
                list_members.c.list_id == sa.bindparam("b_list"),
                list_members.c.contact_id == sa.bindparam("b_contact"),
            ),
            [{"b_list": leave.list_id, "b_contact": leave.contact_id} for leave in leaves],
        )


def members_count_txn(connection: Connection, name: str) -> int:
    statement = (
        sa.select(sa.func.count()).select_from(list_members.join(lists)).where(lists.c.name == name)
    )
    return int(connection.execute(statement).scalar_one())


def _list_statement() -> sa.Select[Any]:
    members = (
        sa.select(sa.func.count())
        .where(list_members.c.list_id == lists.c.id)
        .scalar_subquery()
        .label("members")
    )
    blocklisted = (
        sa.select(sa.func.count())
        .select_from(list_members.join(contacts))
        .where(list_members.c.list_id == lists.c.id, contacts.c.email_blocklisted)
        .scalar_subquery()
        .label("blocklisted")
    )
    return sa.select(
        lists.c.id, lists.c.name, lists.c.folder, lists.c.created_at, members, blocklisted
    )


def _list_record(row: Any) -> ListRecord:
    return ListRecord(
        id=row.id,
        name=row.name,
        folder=row.folder,
        created_at=row.created_at,
        members=int(row.members),
        blocklisted=int(row.blocklisted),
    )


def page_lists_txn(
    connection: Connection, *, limit: int, offset: int, ascending: bool = False
) -> tuple[list[ListRecord], int]:
    total = connection.execute(sa.select(sa.func.count()).select_from(lists)).scalar_one()
    order = lists.c.id.asc() if ascending else lists.c.id.desc()
    statement = _list_statement().order_by(order).limit(limit).offset(offset)
    return [_list_record(r) for r in connection.execute(statement)], int(total)


def list_record_txn(connection: Connection, list_id: int) -> ListRecord | None:
    row = connection.execute(_list_statement().where(lists.c.id == list_id)).first()
    return None if row is None else _list_record(row)


def existing_list_ids_txn(connection: Connection, ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    return set(connection.execute(sa.select(lists.c.id).where(lists.c.id.in_(wanted))).scalars())


def list_members_txn(connection: Connection, list_id: int, contact_ids: Iterable[int]) -> set[int]:
    """Which of these contacts are in the list."""
    wanted = sorted(set(contact_ids))
    if not wanted:
        return set()
    statement = sa.select(list_members.c.contact_id).where(
        list_members.c.list_id == list_id, list_members.c.contact_id.in_(wanted)
    )
    return set(connection.execute(statement).scalars())


def all_members_txn(connection: Connection, list_id: int) -> list[int]:
    statement = sa.select(list_members.c.contact_id).where(list_members.c.list_id == list_id)
    return list(connection.execute(statement).scalars())


def update_list_txn(
    connection: Connection, list_id: int, *, name: str | None, folder: str | None
) -> None:
    values = {k: v for k, v in (("name", name), ("folder", folder)) if v is not None}
    if values:
        connection.execute(sa.update(lists).where(lists.c.id == list_id).values(**values))


def delete_list_txn(connection: Connection, list_id: int) -> None:
    connection.execute(sa.delete(list_members).where(list_members.c.list_id == list_id))
    connection.execute(sa.delete(lists).where(lists.c.id == list_id))


# --- folders ------------------------------------------------------------------------------

FIRST_FOLDER = 1  # holds the lists created without a folder (migration 0016)


def _in_folder(folder_id: int) -> sa.ColumnElement[bool]:
    """The lists of a folder (``lists.folder`` holds its id as text)."""
    if folder_id == FIRST_FOLDER:
        return sa.or_(lists.c.folder == str(folder_id), lists.c.folder.is_(None))
    return lists.c.folder == str(folder_id)


def _folder_records(connection: Connection, rows: Sequence[Any]) -> list[FolderRecord]:
    found: list[FolderRecord] = []
    for row in rows:
        members = sa.select(list_members.c.contact_id).join(lists).where(_in_folder(row.id))
        memberships = connection.execute(
            sa.select(sa.func.count()).select_from(members.subquery())
        ).scalar_one()
        distinct = members.distinct().subquery()
        contacts_count = connection.execute(
            sa.select(sa.func.count()).select_from(distinct)
        ).scalar_one()
        blocklisted = connection.execute(
            sa.select(sa.func.count())
            .select_from(distinct.join(contacts, contacts.c.id == distinct.c.contact_id))
            .where(contacts.c.email_blocklisted)
        ).scalar_one()
        found.append(
            FolderRecord(
                id=row.id,
                name=row.name,
                memberships=int(memberships),
                contacts=int(contacts_count),
                blocklisted=int(blocklisted),
            )
        )
    return found


def folder_record_txn(connection: Connection, folder_id: int) -> FolderRecord | None:
    row = connection.execute(
        sa.select(contact_folders).where(contact_folders.c.id == folder_id)
    ).first()
    return None if row is None else _folder_records(connection, [row])[0]


def page_folders_txn(
    connection: Connection, *, limit: int, offset: int, ascending: bool = False
) -> tuple[list[FolderRecord], int]:
    total = connection.execute(sa.select(sa.func.count()).select_from(contact_folders)).scalar_one()
    order = contact_folders.c.id.asc() if ascending else contact_folders.c.id.desc()
    statement = sa.select(contact_folders).order_by(order).limit(limit).offset(offset)
    return _folder_records(connection, list(connection.execute(statement))), int(total)


def create_folder_txn(connection: Connection, name: str) -> int:
    return int(
        connection.execute(
            sa.insert(contact_folders).values(name=name).returning(contact_folders.c.id)
        ).scalar_one()
    )


def rename_folder_txn(connection: Connection, folder_id: int, name: str) -> None:
    connection.execute(
        sa.update(contact_folders).where(contact_folders.c.id == folder_id).values(name=name)
    )


def folder_lists_txn(connection: Connection, folder_id: int) -> list[tuple[int, str]]:
    """(id, name) of the folder's lists, by id."""
    statement = (
        sa.select(lists.c.id, lists.c.name).where(_in_folder(folder_id)).order_by(lists.c.id)
    )
    return [(r.id, r.name) for r in connection.execute(statement)]


def page_folder_lists_txn(
    connection: Connection, folder_id: int, *, limit: int, offset: int, ascending: bool = False
) -> tuple[list[ListRecord], int]:
    total = connection.execute(
        sa.select(sa.func.count()).select_from(lists).where(_in_folder(folder_id))
    ).scalar_one()
    order = lists.c.id.asc() if ascending else lists.c.id.desc()
    statement = (
        _list_statement().where(_in_folder(folder_id)).order_by(order).limit(limit).offset(offset)
    )
    return [_list_record(r) for r in connection.execute(statement)], int(total)


def delete_folder_txn(connection: Connection, folder_id: int) -> None:
    """The folder with its lists and their memberships."""
    for list_id, _ in folder_lists_txn(connection, folder_id):
        delete_list_txn(connection, list_id)
    connection.execute(sa.delete(contact_folders).where(contact_folders.c.id == folder_id))
