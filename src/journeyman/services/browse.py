"""What the marketer's workspace reads: users, the workflow schema, contacts searched and
sorted, a workflow's graph counts for any version, the contacts on a step, the email funnel.

Every function reads in one read transaction (no write lock on SQLite) and refuses bad
input with :class:`InvalidInput` naming the parameter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from journeyman.errors import InvalidContact, InvalidInput, NotFound
from journeyman.model.contacts import (
    AttributeDefinition,
    AttributeType,
    ContactRecord,
    coerce_attribute,
)
from journeyman.services.context import Context
from journeyman.store import (
    contact_records,
    contacts,
    crm,
    read_transaction,
    reports,
    step_reads,
)
from journeyman.store import lists as list_store
from journeyman.store import workflows as workflow_store
from journeyman.store.contact_search import AttributeFilter, ContactSearch, Op, search_contacts_txn
from journeyman.store.funnel import FunnelDay, funnel_txn
from journeyman.store.step_reads import StepCounts
from journeyman.workflow.document import Workflow, json_schema, parse_workflow

# Comparisons each attribute type takes (set and unset: all of them).
_OPS: dict[AttributeType, frozenset[Op]] = {
    AttributeType.NUMBER: frozenset({Op.EQ, Op.NE, Op.LT, Op.LTE, Op.GT, Op.GTE}),
    AttributeType.DATE: frozenset({Op.EQ, Op.NE, Op.LT, Op.LTE, Op.GT, Op.GTE}),
    AttributeType.TEXT: frozenset({Op.EQ, Op.NE, Op.CONTAINS}),
    AttributeType.CATEGORY: frozenset({Op.EQ, Op.NE}),
    AttributeType.BOOLEAN: frozenset({Op.EQ, Op.NE}),
}
MAX_FUNNEL_DAYS = 366


def users(ctx: Context) -> list[dict[str, Any]]:
    """The CRM users (owners of contacts, deals and tasks): id, name, email."""
    with read_transaction(ctx.engine) as connection:
        return crm.list_users_txn(connection)


def workflow_schema() -> dict[str, Any]:
    """The JSON Schema of workflow documents (``journeyman workflow schema``)."""
    return json_schema()


# --- contacts -----------------------------------------------------------------------------


def search_contacts(
    ctx: Context,
    *,
    search: str | None,
    lists: Sequence[int],
    filters: Sequence[str],
    sort: str | None,
    limit: int,
    offset: int,
) -> tuple[list[ContactRecord], int]:
    """A page of contacts whose email contains ``search``, members of every list in
    ``lists``, matching every ``ATTRIBUTE:op:value`` filter, sorted by ``sort`` (``-NAME``
    descending by a number attribute, ``created`` / ``-created``; default newest first)."""
    with read_transaction(ctx.engine) as connection:
        definitions = contacts.attribute_definitions_txn(connection)
        missing = sorted(set(lists) - list_store.existing_list_ids_txn(connection, lists))
        if missing:
            raise InvalidInput(f"list: no list with id {missing[0]}")
        attribute, descending = _sort(sort, definitions)
        query = ContactSearch(
            email_contains=search.strip().lower() if search and search.strip() else None,
            list_ids=tuple(sorted(set(lists))),
            filters=tuple(_filter(f, definitions) for f in filters),
            sort_attribute=attribute,
            descending=descending,
        )
        ids, total = search_contacts_txn(connection, query, limit=limit, offset=offset)
        return contact_records.contact_records_txn(connection, ids), total


def _sort(sort: str | None, definitions: dict[str, AttributeDefinition]) -> tuple[str | None, bool]:
    text = (sort or "-created").strip()
    descending = text.startswith("-")
    name = text.lstrip("-+")
    if name.lower() == "created":
        return None, descending
    found = definitions.get(name.upper())
    if found is None or found.type is not AttributeType.NUMBER:
        numbers = sorted(d.name for d in definitions.values() if d.type is AttributeType.NUMBER)
        raise InvalidInput(
            f"sort: {sort!r} is not created or a number attribute "
            f"(number attributes: {', '.join(numbers) or 'none'})"
        )
    return found.name, descending


def _filter(text: str, definitions: dict[str, AttributeDefinition]) -> AttributeFilter:
    parts = text.split(":", 2)
    if len(parts) < 2:
        raise InvalidInput(f"filter: {text!r} is not ATTRIBUTE:op:value (e.g. LEAD_SCORE:gte:50)")
    name, op_text, value = (
        parts[0].strip().upper(),
        parts[1].strip().lower(),
        (parts[2:] or [""])[0],
    )
    definition = definitions.get(name)
    if definition is None:
        raise InvalidInput(
            f"filter: no attribute {name!r} (known: {', '.join(sorted(definitions))})"
        )
    try:
        op = Op(op_text)
    except ValueError:
        raise InvalidInput(
            f"filter: {op_text!r} is not an operator ({', '.join(o.value for o in Op)})"
        ) from None
    if op in (Op.SET, Op.UNSET):
        return AttributeFilter(name=name, type=definition.type, op=op)
    if op not in _OPS[definition.type]:
        allowed = ", ".join(sorted(o.value for o in _OPS[definition.type]))
        raise InvalidInput(
            f"filter: {name} is a {definition.type.value} attribute: {allowed}, set, unset"
        )
    return AttributeFilter(
        name=name, type=definition.type, op=op, value=_value(definition, op, value)
    )


def _value(definition: AttributeDefinition, op: Op, value: str) -> Any:
    if op is Op.CONTAINS or definition.type is AttributeType.CATEGORY:
        return value  # any text: a category value not allowed matches nothing
    try:
        found = coerce_attribute(definition, value)
    except InvalidContact as exc:
        raise InvalidInput(f"filter: {exc}") from None
    if found is None:
        raise InvalidInput(f"filter: {definition.name} needs a value (or use set / unset)")
    return float(found) if definition.type is AttributeType.NUMBER else found


# --- workflows ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class VersionCounts:
    version: int
    workflow: Workflow
    counts: StepCounts


def graph_counts(ctx: Context, key: str, version: int | None) -> VersionCounts:
    """Version ``version`` (default: the current one) of workflow ``key`` and what its runs
    did on each step: entered, standing there now (a delay holds its waiting runs), the ways
    out taken."""
    with read_transaction(ctx.engine) as connection:
        workflow_id = reports.workflow_id_txn(connection, key)
        if version is None:
            version = next(
                (
                    v["version"]
                    for v in workflow_store.versions_txn(connection, key)
                    if v["current"]
                ),
                None,
            )
            if version is None:
                raise NotFound(f"workflow {key!r} has no version")
        version_id = step_reads.version_id_txn(connection, workflow_id, version)
        document = workflow_store.version_document_txn(connection, key, version)
        counts = step_reads.step_counts_txn(connection, workflow_id, version_id)
    return VersionCounts(
        version=version, workflow=parse_workflow(document, stored=True), counts=counts
    )


def step_contacts(
    ctx: Context,
    key: str,
    step: str,
    *,
    passed: bool,
    version: int | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """The runs (with their contact) on step ``step`` now, or that executed it; of one
    version, or of all."""
    with read_transaction(ctx.engine) as connection:
        workflow_id = reports.workflow_id_txn(connection, key)
        version_id = (
            None if version is None else step_reads.version_id_txn(connection, workflow_id, version)
        )
        return step_reads.contacts_on_step_txn(
            connection,
            workflow_id,
            step,
            passed=passed,
            version_id=version_id,
            limit=limit,
            offset=offset,
        )


# --- reports ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Funnel:
    since: dt.datetime
    until: dt.datetime
    keys: dict[int, str]  # workflow id -> key
    days: list[FunnelDay]


def funnel(
    ctx: Context, workflow: str | None, since: dt.datetime | None, until: dt.datetime | None
) -> Funnel:
    """Per workflow (or for one) and day of sending: emails sent, opened, clicked and
    converted; by default the last 30 days, at most :data:`MAX_FUNNEL_DAYS`."""
    end = until or ctx.clock.now()
    start = since or end - dt.timedelta(days=30)
    if start >= end:
        raise InvalidInput("since: must be before until")
    if end - start > dt.timedelta(days=MAX_FUNNEL_DAYS):
        raise InvalidInput(f"since, until: at most {MAX_FUNNEL_DAYS} days at a time")
    with read_transaction(ctx.engine) as connection:
        workflow_id = reports.workflow_id_txn(connection, workflow) if workflow else None
        days = funnel_txn(connection, workflow_id, start, end)
        keys = workflow_store.workflow_keys_txn(connection, {d.workflow_id for d in days})
    return Funnel(since=start, until=end, keys=keys, days=days)
