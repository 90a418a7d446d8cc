"""Attribute definitions: defined, listed, updated and deleted."""

from __future__ import annotations

from journeyman.model.contacts import AttributeDefinition
from journeyman.services import usage
from journeyman.services.context import Context
from journeyman.store import contacts as store
from journeyman.store import read_transaction, transaction


def definitions(context: Context) -> dict[str, AttributeDefinition]:
    """Every attribute by name."""
    with read_transaction(context.engine) as connection:
        return store.attribute_definitions_txn(connection)


def define(context: Context, definition: AttributeDefinition) -> None:
    """Define a new attribute, or change the allowed values of one (not its type)."""
    with transaction(context.engine) as connection:
        store.define_attribute_txn(connection, definition)


def delete(context: Context, name: str) -> None:
    """The definition and every contact's value (not while a workflow names it, in its
    steps or as ``contact.NAME`` in a template)."""
    with transaction(context.engine) as connection:
        usage.refuse_if_used_txn(connection, "attribute", name, in_templates="contact")
        store.delete_attribute_txn(connection, name, context.clock.now())
