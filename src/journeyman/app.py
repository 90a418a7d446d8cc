"""The application: the verbs the CLI, the demo and the tests use, over one database."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from journeyman import signing
from journeyman.channels.webhook import WebhookTransport
from journeyman.clock import Clock, SystemClock
from journeyman.config import Settings
from journeyman.engine.dispatch import Dispatcher, DispatchSettings, EmailTransport
from journeyman.engine.runner import RunSummary, run
from journeyman.engine.stepper import EngineSettings, Stepper
from journeyman.errors import InvalidEvent, InvalidInput, StoreError
from journeyman.imports import RowError, parse_contacts_csv
from journeyman.model.contacts import AttributeDefinition, normalize_email
from journeyman.services import enrolment, versions, workflows
from journeyman.services.workflows import ApplyReport, ValidationReport, WorkflowStatus
from journeyman.signing import SigningKeys
from journeyman.store import (
    contacts,
    crm,
    events,
    lists,
    make_engine,
    migrate,
    normalize_url,
    read_transaction,
    signing_secrets,
    transaction,
    write,
)
from journeyman.store.contacts import ContactInput
from journeyman.store.events import NewEvent

_EVENT_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


@dataclass(frozen=True, kw_only=True)
class ImportReport:
    created: int
    updated: int
    errors: tuple[RowError, ...] = ()


@dataclass(frozen=True, kw_only=True)
class EventInput:
    """An event as it arrives: the contact by email, optional time and properties."""

    name: str
    email: str
    occurred_at: dt.datetime | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
    historical: bool = False
    source: str = "api"


@dataclass(frozen=True, kw_only=True)
class EventReport:
    ids: tuple[int, ...]
    rejected: tuple[tuple[int, str], ...] = ()  # (index in the input, reason)


class App:
    def __init__(
        self, engine: Engine, *, clock: Clock | None = None, settings: Settings | None = None
    ) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()
        self.settings = settings or Settings()
        # JOURNEYMAN_SECRET, else the database's own secrets (read on first use).
        self.keys: SigningKeys = signing.keys_for(self.settings, engine, self.clock)
        # Set by whoever stores events in this process (the API's writer) so that an idle
        # engine running here (``run``) looks at them now rather than at its next poll.
        self.events_stored = asyncio.Event()
        # Called too when events are stored, for an engine in another process (``serve``'s
        # engine child: a byte down a pipe).
        self.wake_elsewhere: Callable[[], None] | None = None

    def note_events_stored(self) -> None:
        """Events were committed: wake the engine, here or in its own process."""
        self.events_stored.set()
        if self.wake_elsewhere is not None:
            self.wake_elsewhere()

    @classmethod
    def open(cls, settings: Settings, *, clock: Clock | None = None, upgrade: bool = True) -> App:
        engine = make_engine(settings.database_url)
        if upgrade:
            migrate.ensure_current(engine)
        return cls(engine, clock=clock, settings=settings)

    @classmethod
    def open_existing(cls, settings: Settings) -> tuple[App | None, str]:
        """The database as it is, to look into (never created or upgraded), or why there is
        none to look into."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import DBAPIError

        url = make_url(normalize_url(settings.database_url))
        if url.get_backend_name() == "sqlite":
            path = url.database or ""
            if path in ("", ":memory:") or not Path(path).is_file():
                return None, f"no database at {path or settings.database_url}"
        app = cls.open(settings, upgrade=False)
        try:
            revision = migrate.current_revision(app.engine)
        except DBAPIError as exc:
            app.close()
            raise StoreError(f"cannot read the database: {exc.orig}") from None
        if revision == migrate.head_revision(app.engine):
            return app, ""
        app.close()
        if revision is None:
            return None, "the database has no Journeyman tables yet"
        return None, "the database has an older schema (journeyman db upgrade)"

    def close(self) -> None:
        self.engine.dispose()

    # workflows: the services, as methods (the edges call the services themselves)

    def apply_workflow(self, document: Mapping[str, Any], *, activate: bool = True) -> ApplyReport:
        return workflows.apply(self, document, activate=activate)

    def validate_workflow(
        self, document: Mapping[str, Any], *, activate: bool = True
    ) -> ValidationReport:
        return workflows.validate(self, document, activate=activate)

    def set_workflow_status(self, key: str, status: WorkflowStatus) -> int:
        return workflows.set_status(self, key, status)

    def workflow_history(self, key: str) -> list[dict[str, Any]]:
        return versions.history(self, key)

    def workflow_document(self, key: str, version: int) -> Mapping[str, Any]:
        return versions.document(self, key, version)

    def workflow_diff(self, key: str, old: int, new: int | None = None) -> tuple[int, str]:
        return versions.diff(self, key, old, new)

    def current_document(self, key: str) -> Mapping[str, Any]:
        return versions.current_document(self, key)

    def rollback_workflow(self, key: str, version: int) -> ApplyReport:
        return versions.rollback(self, key, version)

    def migrate_runs(self, key: str, from_version: int, mapping: Mapping[str, str]) -> int:
        return workflows.migrate_runs(self, key, from_version, mapping)

    # contacts, attributes, lists

    def define_attribute(self, definition: AttributeDefinition) -> None:
        with transaction(self.engine) as connection:
            contacts.define_attribute_txn(connection, definition)

    def attribute_definitions(self) -> dict[str, AttributeDefinition]:
        with read_transaction(self.engine) as connection:
            return contacts.attribute_definitions_txn(connection)

    def create_lists(self, names: Iterable[str]) -> list[str]:
        with transaction(self.engine) as connection:
            return lists.ensure_lists_txn(connection, names, self.clock.now())

    def create_user(self, name: str, email: str) -> int:
        """A team member (owner of contacts, deals and tasks); the email must be new."""
        with transaction(self.engine) as connection:
            return crm.create_user_txn(connection, name, email, self.clock.now())

    def import_contacts_csv(self, lines: Iterable[str]) -> ImportReport:
        good, bad = parse_contacts_csv(lines, self.attribute_definitions())
        created, updated = self.upsert_contacts(good)
        return ImportReport(created=created, updated=updated, errors=tuple(bad))

    def upsert_contacts(self, inputs: Sequence[ContactInput]) -> tuple[int, int]:
        """Create or update contacts by email (case-insensitive): (created, updated)."""
        normalized = [replace(i, email=normalize_email(i.email)) for i in inputs]
        now = self.clock.now()
        return write(self.engine, lambda c: contacts.upsert_contacts_txn(c, normalized, now))

    # events

    def record_events(
        self, inputs: Sequence[EventInput], *, contacts_first: Sequence[ContactInput] = ()
    ) -> EventReport:
        """Store the valid events (creating unknown contacts); report the others by index.

        ``contacts_first`` are created or updated in the same transaction, before the events,
        so that the workflows the events start see them (the API's ``contact_properties``).
        """
        valid: list[tuple[int, EventInput, str]] = []
        rejected: list[tuple[int, str]] = []
        for index, item in enumerate(inputs):
            try:
                valid.append((index, item, _check_event(item)))
            except InvalidInput as exc:
                rejected.append((index, str(exc)))
        now = self.clock.now()
        first = [replace(i, email=normalize_email(i.email)) for i in contacts_first]
        news = [(item, email) for _, item, email in valid]

        def store(connection: Connection) -> list[int]:
            if first:
                contacts.upsert_contacts_txn(connection, first, now)
            ids = contacts.ensure_contacts_txn(connection, {email for _, email in news}, now)
            return events.record_events_txn(
                connection,
                [
                    NewEvent(
                        name=item.name,
                        contact_id=ids[email],
                        occurred_at=item.occurred_at or now,
                        properties=item.properties,
                        source=item.source,
                        historical=item.historical,
                    )
                    for item, email in news
                ],
                now,
            )

        stored = write(self.engine, store)  # run again if it lost a race to another writer
        return EventReport(ids=tuple(stored), rejected=tuple(rejected))

    def enrol(
        self,
        key: str,
        *,
        emails: Sequence[str] = (),
        lists: Sequence[str] = (),
        segment: Mapping[str, Any] | None = None,
    ) -> int:
        return enrolment.enrol(self, key, emails=emails, lists=lists, segment=segment)

    def segment_emails(self, segment: Mapping[str, Any], *, page: int = 1000) -> list[str]:
        return enrolment.segment_emails(self, segment, page=page)

    # secrets

    def rotate_secret(self, grace: dt.timedelta) -> signing_secrets.StoredSecret:
        """A new signing secret; the previous ones verify for ``grace`` at most
        (journeyman.signing). This process signs with the new one at once."""
        now = self.clock.now()
        # Two rotations at once: the loser runs again (write), on top of the winner's.
        rotated = write(self.engine, lambda c: signing_secrets.rotate_txn(c, now, grace))
        self.keys.refresh()
        return rotated

    # the engine

    def stepper(self, *, batch_size: int | None = None, shard: tuple[int, int] = (0, 1)) -> Stepper:
        return Stepper(
            self.engine,
            self.clock,
            EngineSettings(
                batch_size=batch_size or self.settings.batch_size,
                keys=self.keys,
                shard=shard,
                public_url=self.settings.public_url,
                default_timezone=self.settings.default_timezone,
            ),
        )

    def dispatcher(self, transport: EmailTransport) -> Dispatcher:
        """A dispatcher with ``transport`` for email and the configured SMS provider (else
        captured) and webhook network rules."""
        texts = None
        if self.settings.sms_url:
            from journeyman.channels.sms import ProviderSettings, TwilioTransport

            texts = TwilioTransport(ProviderSettings.from_url(str(self.settings.sms_url)))
        webhooks = WebhookTransport(
            allow_networks=self.settings.webhook_allow_networks, clock=self.clock
        )
        settings = DispatchSettings(keys=self.keys)
        return Dispatcher(
            self.engine, transport, self.clock, settings, texts=texts, webhooks=webhooks
        )

    def run_until_idle(
        self, transport: EmailTransport | None, *, batch_size: int | None = None
    ) -> RunSummary:
        """Move every due run and deliver every due message, then close the transport.

        (Several processes: ``journeyman.runtime.engine.run_until_idle``.)
        """

        async def until_idle() -> RunSummary:
            try:
                return await self.run(transport, batch_size=batch_size)
            finally:
                if transport is not None:
                    await transport.aclose()

        return asyncio.run(until_idle())

    async def run(
        self,
        transport: EmailTransport | None,
        *,
        batch_size: int | None = None,
        until_idle: bool = True,
    ) -> RunSummary:
        """The engine (and the dispatcher, given a transport) in the running event loop.
        (Several processes: ``journeyman.runtime.engine.run_engine``.)"""
        dispatcher = self.dispatcher(transport) if transport is not None else None
        stepper = self.stepper(batch_size=batch_size)
        try:
            self.events_stored = asyncio.Event()  # one of this event loop's own
            return await run(stepper, dispatcher, until_idle=until_idle, wake=self.events_stored)
        finally:
            if dispatcher is not None:
                await dispatcher.close_transports()


def _check_event(item: EventInput) -> str:
    if not _EVENT_NAME.match(item.name or ""):
        raise InvalidEvent(
            f"event name {item.name!r} is invalid: 1-200 letters, digits, '_', '.', ':', '-'"
        )
    if not isinstance(item.properties, Mapping):
        raise InvalidEvent("event properties must be an object")
    if item.occurred_at is not None and item.occurred_at.tzinfo is None:
        raise InvalidEvent(f"event time {item.occurred_at.isoformat()} has no time zone")
    return normalize_email(item.email)
