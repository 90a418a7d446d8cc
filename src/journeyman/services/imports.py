"""Contact imports: a CSV file from the command line, rows of the API's import."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from journeyman.imports import RowError, parse_contacts_csv
from journeyman.services import attributes, contacts
from journeyman.services.contacts import ContactChange
from journeyman.services.context import Context


@dataclass(frozen=True, kw_only=True)
class ImportReport:
    created: int
    updated: int
    errors: tuple[RowError, ...] = ()


def import_csv(context: Context, lines: Iterable[str]) -> ImportReport:
    """Contacts from CSV lines (a header row with EMAIL and attribute names): good rows are
    kept, the others reported with their line numbers."""
    good, bad = parse_contacts_csv(lines, attributes.definitions(context))
    created, updated = contacts.upsert(context, good)
    return ImportReport(created=created, updated=updated, errors=tuple(bad))


def import_changes(
    context: Context, changes: Sequence[ContactChange], *, update_existing: bool = True
) -> tuple[int, int, int]:
    """The changes applied: (created, updated, skipped). Without ``update_existing`` the
    contacts that exist already are skipped."""
    skipped = 0
    if not update_existing:
        existing = contacts.existing_emails(context, [c.contact.email for c in changes])
        skipped = sum(1 for c in changes if c.contact.email in existing)
        changes = [c for c in changes if c.contact.email not in existing]
    created, updated = contacts.apply(context, changes)
    return created, updated, skipped
