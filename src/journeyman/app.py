"""The application: the verbs the CLI, the demo and the tests use, over one database."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from journeyman import signing
from journeyman.clock import Clock, SystemClock
from journeyman.config import Settings
from journeyman.errors import StoreError
from journeyman.model.contacts import AttributeDefinition, ContactInput
from journeyman.signing import SigningKeys
from journeyman.store import (
    make_engine,
    migrate,
    normalize_url,
)

# The engine and its channels are loaded by the verbs that run them, so a command that only
# reads or writes the store starts without them.
if TYPE_CHECKING:
    from journeyman.engine.dispatch import Dispatcher, EmailTransport
    from journeyman.engine.runner import RunSummary
    from journeyman.engine.stepper import Stepper
    from journeyman.services import signing_secrets as secret_service
    from journeyman.services.events import EventInput, EventReport
    from journeyman.services.imports import ImportReport
    from journeyman.services.workflows import ApplyReport, ValidationReport, WorkflowStatus

__all__ = ["App"]


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
        if revision == migrate.HEAD:
            return app, ""
        app.close()
        if revision is None:
            return None, "the database has no Journeyman tables yet"
        return None, "the database has an older schema (journeyman db upgrade)"

    def close(self) -> None:
        self.engine.dispose()

    # workflows: the services, as methods (the edges call the services themselves)

    def apply_workflow(self, document: Mapping[str, Any], *, activate: bool = True) -> ApplyReport:
        from journeyman.services import workflows

        return workflows.apply(self, document, activate=activate)

    def validate_workflow(
        self, document: Mapping[str, Any], *, activate: bool = True
    ) -> ValidationReport:
        from journeyman.services import workflows

        return workflows.validate(self, document, activate=activate)

    def set_workflow_status(self, key: str, status: WorkflowStatus) -> int:
        from journeyman.services import workflows

        return workflows.set_status(self, key, status)

    def workflow_history(self, key: str) -> list[dict[str, Any]]:
        from journeyman.services import versions

        return versions.history(self, key)

    def workflow_document(self, key: str, version: int) -> Mapping[str, Any]:
        from journeyman.services import versions

        return versions.document(self, key, version)

    def workflow_diff(self, key: str, old: int, new: int | None = None) -> tuple[int, str]:
        from journeyman.services import versions

        return versions.diff(self, key, old, new)

    def current_document(self, key: str) -> Mapping[str, Any]:
        from journeyman.services import versions

        return versions.current_document(self, key)

    def rollback_workflow(self, key: str, version: int) -> ApplyReport:
        from journeyman.services import versions

        return versions.rollback(self, key, version)

    def migrate_runs(self, key: str, from_version: int, mapping: Mapping[str, str]) -> int:
        from journeyman.services import workflows

        return workflows.migrate_runs(self, key, from_version, mapping)

    # contacts, attributes, lists

    def define_attribute(self, definition: AttributeDefinition) -> None:
        from journeyman.services import attributes

        attributes.define(self, definition)

    def attribute_definitions(self) -> dict[str, AttributeDefinition]:
        from journeyman.services import attributes

        return attributes.definitions(self)

    def create_lists(self, names: Iterable[str]) -> list[str]:
        from journeyman.services import lists as list_service

        return list_service.create(self, names)

    def create_user(self, name: str, email: str) -> int:
        """A team member (owner of contacts, deals and tasks); the email must be new."""
        from journeyman.services import crm

        return crm.create_user(self, name, email)

    def import_contacts_csv(self, lines: Iterable[str]) -> ImportReport:
        from journeyman.services import imports

        return imports.import_csv(self, lines)

    def upsert_contacts(self, inputs: Sequence[ContactInput]) -> tuple[int, int]:
        """Create or update contacts by email (case-insensitive): (created, updated)."""
        from journeyman.services import contacts as contact_service

        return contact_service.upsert(self, inputs)

    # events

    def record_events(
        self, inputs: Sequence[EventInput], *, contacts_first: Sequence[ContactInput] = ()
    ) -> EventReport:
        """Store the valid events (creating unknown contacts); report the others by index
        (:func:`journeyman.services.events.record`)."""
        from journeyman.services import events as event_service

        return event_service.record(self, inputs, contacts_first=contacts_first)

    def enrol(
        self,
        key: str,
        *,
        emails: Sequence[str] = (),
        lists: Sequence[str] = (),
        segment: Mapping[str, Any] | None = None,
    ) -> int:
        from journeyman.services import enrolment

        return enrolment.enrol(self, key, emails=emails, lists=lists, segment=segment)

    def segment_emails(self, segment: Mapping[str, Any], *, page: int = 1000) -> list[str]:
        from journeyman.services import enrolment

        return enrolment.segment_emails(self, segment, page=page)

    # secrets

    def rotate_secret(self, grace: dt.timedelta) -> secret_service.StoredSecret:
        """A new signing secret; the previous ones verify for ``grace`` at most
        (journeyman.signing). This process signs with the new one at once."""
        from journeyman.services import signing_secrets as secret_service

        return secret_service.rotate(self, grace)

    # the engine

    def stepper(self, *, batch_size: int | None = None, shard: tuple[int, int] = (0, 1)) -> Stepper:
        from journeyman.engine.stepper import EngineSettings, Stepper

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
        from journeyman.channels.webhook import WebhookTransport
        from journeyman.engine.dispatch import Dispatcher, DispatchSettings

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
        from journeyman.engine.runner import run

        dispatcher = self.dispatcher(transport) if transport is not None else None
        stepper = self.stepper(batch_size=batch_size)
        try:
            self.events_stored = asyncio.Event()  # one of this event loop's own
            return await run(stepper, dispatcher, until_idle=until_idle, wake=self.events_stored)
        finally:
            if dispatcher is not None:
                await dispatcher.close_transports()
