"""Lists: created, renamed, moved to a folder, deleted; members added and removed.

Memberships change through the store's ``join_lists_txn`` / ``leave_lists_txn``, which record
``list_added`` / ``list_removed`` for the workflows. A list a workflow names keeps its name
and is not deleted (:mod:`journeyman.services.usage`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from journeyman.errors import Duplicate, InvalidInput, NotFound
from journeyman.model.effects import JoinList, LeaveList
from journeyman.model.lists import FolderRecord, ListRecord
from journeyman.services import usage
from journeyman.services.context import Context
from journeyman.store import lists as store
from journeyman.store import read_transaction, transaction


def create(context: Context, names: Iterable[str]) -> list[str]:
    """Create the lists that do not exist yet; the names created."""
    with transaction(context.engine) as connection:
        return store.ensure_lists_txn(connection, names, context.clock.now())


def ensure(context: Context, name: str) -> int:
    """The id of list ``name``, created when it does not exist."""
    with transaction(context.engine) as connection:
        store.ensure_lists_txn(connection, [name], context.clock.now())
        return store.list_ids_txn(connection)[name]


def _check_folder_txn(connection: Connection, folder: str | None) -> None:
    if folder is not None and store.folder_record_txn(connection, int(folder)) is None:
        raise InvalidInput(
            f"folderId {folder}: no folder has this id (folders: GET /v3/contacts/folders)"
        )


def create_in_folder(context: Context, name: str, folder: str | None) -> int:
    """A new list (in ``folder`` when given, which must exist): its id; a name taken is a
    :class:`Duplicate`."""
    with transaction(context.engine) as connection:
        _check_folder_txn(connection, folder)
        if not store.ensure_lists_txn(connection, [name], context.clock.now()):
            raise Duplicate(f"a list named {name!r} exists already")
        list_id = store.list_ids_txn(connection)[name]
        if folder is not None:
            store.update_list_txn(connection, list_id, name=None, folder=folder)
    return list_id


def summaries(context: Context) -> list[dict[str, Any]]:
    """Every list: id, name, folder, members."""
    with read_transaction(context.engine) as connection:
        return store.list_summaries_txn(connection)


def _record_txn(connection: Connection, list_id: int) -> ListRecord:
    found = store.list_record_txn(connection, list_id)
    if found is None:
        raise NotFound(f"List ID {list_id} does not exist")
    return found


def record(context: Context, list_id: int) -> ListRecord:
    """The list with its member counts, or :class:`NotFound`."""
    with read_transaction(context.engine) as connection:
        return _record_txn(connection, list_id)


def page(
    context: Context, *, limit: int, offset: int, ascending: bool = False
) -> tuple[list[ListRecord], int]:
    """A page of lists (newest first unless ``ascending``) and the total."""
    with read_transaction(context.engine) as connection:
        return store.page_lists_txn(connection, limit=limit, offset=offset, ascending=ascending)


def update(context: Context, list_id: int, *, name: str | None, folder: str | None) -> None:
    """Rename the list (not while a workflow names it) or move it to a folder."""
    with transaction(context.engine) as connection:
        found = _record_txn(connection, list_id)
        _check_folder_txn(connection, folder)
        if name == "":
            raise InvalidInput("name is empty")
        if name is not None and name != found.name:
            if name in store.list_ids_txn(connection):
                raise Duplicate(f"a list named {name!r} exists already")
            usage.refuse_if_used_txn(connection, "list", found.name)
        store.update_list_txn(connection, list_id, name=name, folder=folder)


def delete(context: Context, list_id: int) -> None:
    """The list and its memberships (not while a workflow names it)."""
    with transaction(context.engine) as connection:
        usage.refuse_if_used_txn(connection, "list", _record_txn(connection, list_id).name)
        store.delete_list_txn(connection, list_id)


def add_members(context: Context, list_id: int, contact_ids: Sequence[int]) -> set[int]:
    """Add these contacts: those added (the others are in the list already); none is an
    :class:`InvalidInput`."""
    with transaction(context.engine) as connection:
        present = store.list_members_txn(connection, list_id, contact_ids)
        joining = [i for i in contact_ids if i not in present]
        if not joining:
            raise InvalidInput("Contact already in list and/or does not exist")
        joins = [JoinList(contact_id=i, list_id=list_id) for i in dict.fromkeys(joining)]
        store.join_lists_txn(connection, joins, context.clock.now())
    return set(joining)


def remove_members(context: Context, list_id: int, contact_ids: Sequence[int]) -> set[int]:
    """Remove these contacts: those removed (the others are not in the list); none is an
    :class:`InvalidInput`."""
    with transaction(context.engine) as connection:
        present = store.list_members_txn(connection, list_id, contact_ids)
        leaving = [i for i in contact_ids if i in present]
        if not leaving:
            raise InvalidInput("Contact does not exist and/or is not in the list")
        leaves = [LeaveList(contact_id=i, list_id=list_id) for i in dict.fromkeys(leaving)]
        store.leave_lists_txn(connection, leaves, context.clock.now())
    return set(leaving)


def remove_all(context: Context, list_id: int) -> int:
    """Empty the list: how many contacts left it."""
    with transaction(context.engine) as connection:
        found = store.all_members_txn(connection, list_id)
        leaves = [LeaveList(contact_id=i, list_id=list_id) for i in found]
        store.leave_lists_txn(connection, leaves, context.clock.now())
    return len(found)


# --- folders ------------------------------------------------------------------------------


def _folder_txn(connection: Connection, folder_id: int) -> FolderRecord:
    found = store.folder_record_txn(connection, folder_id)
    if found is None:
        raise NotFound(f"Folder ID {folder_id} does not exist")
    return found


def folder(context: Context, folder_id: int) -> FolderRecord:
    """The folder with the members of its lists, or :class:`NotFound`."""
    with read_transaction(context.engine) as connection:
        return _folder_txn(connection, folder_id)


def folders_page(
    context: Context, *, limit: int, offset: int, ascending: bool = False
) -> tuple[list[FolderRecord], int]:
    """A page of folders (newest first unless ``ascending``) and the total."""
    with read_transaction(context.engine) as connection:
        return store.page_folders_txn(connection, limit=limit, offset=offset, ascending=ascending)


def create_folder(context: Context, name: str) -> int:
    """A new folder: its id (names need not differ, as in Brevo)."""
    if not name.strip():
        raise InvalidInput("name is empty")
    with transaction(context.engine) as connection:
        return store.create_folder_txn(connection, name.strip())


def rename_folder(context: Context, folder_id: int, name: str) -> None:
    if not name.strip():
        raise InvalidInput("name is empty")
    with transaction(context.engine) as connection:
        _folder_txn(connection, folder_id)
        store.rename_folder_txn(connection, folder_id, name.strip())


def delete_folder(context: Context, folder_id: int) -> None:
    """The folder with its lists and their memberships, as in Brevo (not while a workflow
    names one of its lists; never the first folder, which holds the lists created without
    one)."""
    with transaction(context.engine) as connection:
        _folder_txn(connection, folder_id)
        if folder_id == store.FIRST_FOLDER:
            raise InvalidInput(
                f"folder {folder_id} holds the lists created without a folder: it stays"
            )
        for _, name in store.folder_lists_txn(connection, folder_id):
            usage.refuse_if_used_txn(connection, "list", name)
        store.delete_folder_txn(connection, folder_id)


def folder_lists(
    context: Context, folder_id: int, *, limit: int, offset: int, ascending: bool = False
) -> tuple[list[ListRecord], int]:
    """A page of the folder's lists (newest first unless ``ascending``) and their total."""
    with read_transaction(context.engine) as connection:
        _folder_txn(connection, folder_id)
        return store.page_folder_lists_txn(
            connection, folder_id, limit=limit, offset=offset, ascending=ascending
        )
