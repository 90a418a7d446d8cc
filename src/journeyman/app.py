"""The application: the verbs the CLI, the demo and the tests use, over one database."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import Connection, Engine

from journeyman import signing
from journeyman.channels.webhook import WebhookTransport
from journeyman.clock import Clock, SystemClock
from journeyman.config import Settings
from journeyman.engine import triggers
from journeyman.engine.dispatch import Dispatcher, DispatchSettings, EmailTransport
from journeyman.engine.runner import RunSummary, run
from journeyman.engine.stepper import EngineSettings, Stepper
from journeyman.errors import InvalidInput, InvalidWorkflow, NotFound
from journeyman.model.contacts import AttributeDefinition, ContactInput, normalize_email
from journeyman.services import attributes, imports, users
from journeyman.services import contacts as contact_service
from journeyman.services import events as event_service
from journeyman.services import lists as list_service
from journeyman.services import signing_secrets as secret_service
from journeyman.services.events import EventInput, EventReport
from journeyman.services.imports import ImportReport
from journeyman.signing import SigningKeys
from journeyman.store import (
    contacts,
    crm,
    lists,
    make_engine,
    migrate,
    read_transaction,
    system_events,
    transaction,
    workflows,
)
from journeyman.store import runs as runs_store
from journeyman.store.workflows import WorkflowStatus
from journeyman.workflow.document import Workflow, parse_workflow
from journeyman.workflow.references import KnownNames, lists_to_create, reference_problems

__all__ = ["App", "ApplyReport", "EventInput", "EventReport", "ImportReport", "ValidationReport"]


@dataclass(frozen=True, kw_only=True)
class ApplyReport:
    key: str
    version: int
    created: bool
    status: str
    lists_created: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ValidationReport:
    workflow: Workflow
    lists_to_create: tuple[str, ...] = ()  # apply would create them


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

    def close(self) -> None:
        self.engine.dispose()

    # workflows

    def apply_workflow(self, document: Mapping[str, Any], *, activate: bool = True) -> ApplyReport:
        """Validate and store a new version; lists the workflow names are created."""
        workflow = parse_workflow(document)
        now = self.clock.now()
        status = WorkflowStatus.ACTIVE if activate else WorkflowStatus.DRAFT
        with transaction(self.engine) as connection:
            existing, _ = _check_for_apply_txn(connection, workflow, activate=activate)
            created_lists = lists.ensure_lists_txn(connection, workflow.lists_used(), now)
            saved = workflows.save_version_txn(
                connection, workflow.document, now, status_if_new=status
            )
            rate = triggers.backfill_rate(workflow)
            if existing is None and saved.status == WorkflowStatus.ACTIVE.value and rate:
                system_events.start_backfill_txn(connection, saved.key, rate, now)
        return ApplyReport(
            key=saved.key,
            version=saved.version,
            created=saved.created,
            status=saved.status,
            lists_created=tuple(created_lists),
        )

    def validate_workflow(
        self, document: Mapping[str, Any], *, activate: bool = True
    ) -> ValidationReport:
        """What ``apply_workflow(document, activate=...)`` would refuse, refused the same way
        (the document, then the names it uses), in a read-only transaction: nothing stored."""
        workflow = parse_workflow(document)
        with read_transaction(self.engine) as connection:
            _, known = _check_for_apply_txn(connection, workflow, activate=activate)
        return ValidationReport(
            workflow=workflow, lists_to_create=tuple(lists_to_create(workflow, known))
        )

    def set_workflow_status(self, key: str, status: WorkflowStatus) -> int:
        """Activating checks again that every workflow the steps start exists; stopping makes
        every run inside exit (how many did is returned)."""
        now = self.clock.now()
        with transaction(self.engine) as connection:
            before = workflows.status_of_txn(connection, key)
            if status is WorkflowStatus.ACTIVE:
                document = workflows.current_definition_txn(connection, key)
                if document is not None:
                    workflow = parse_workflow(document)
                    _check_references_txn(connection, workflow, activating=True)
                    rate = triggers.backfill_rate(workflow)
                    if rate and before != WorkflowStatus.ACTIVE.value:
                        system_events.start_backfill_txn(connection, key, rate, now)
            workflows.set_status_txn(connection, key, status, now)
            if status is not WorkflowStatus.STOPPED:
                return 0
            workflow_id = next(
                r.id for r in workflows.workflow_rows_txn(connection) if r.key == key
            )
            return runs_store.exit_all_txn(connection, workflow_id, "workflow stopped", now)

    def workflow_history(self, key: str) -> list[dict[str, Any]]:
        with transaction(self.engine) as connection:
            return workflows.versions_txn(connection, key)

    def workflow_document(self, key: str, version: int) -> Mapping[str, Any]:
        with transaction(self.engine) as connection:
            return workflows.version_document_txn(connection, key, version)

    def workflow_diff(self, key: str, old: int, new: int | None = None) -> tuple[int, str]:
        """A unified diff of the YAML of versions ``old`` and ``new`` (default: the current
        one); the new version's number with it. Empty when they are equal."""
        import difflib

        import yaml

        history = self.workflow_history(key)
        if not history:
            raise NotFound(f"no workflow with key {key!r}")
        new = new or next(r["version"] for r in history if r["current"])
        texts = [
            yaml.safe_dump(dict(self.workflow_document(key, v)), sort_keys=False)
            for v in (old, new)
        ]
        lines = difflib.unified_diff(
            texts[0].splitlines(keepends=True),
            texts[1].splitlines(keepends=True),
            fromfile=f"{key} v{old}",
            tofile=f"{key} v{new}",
        )
        return new, "".join(lines)

    def current_document(self, key: str) -> Mapping[str, Any]:
        """The current version's document of workflow ``key``."""
        with read_transaction(self.engine) as connection:
            document = workflows.current_definition_txn(connection, key)
        if document is None:
            raise NotFound(f"no workflow with key {key!r}")
        return document

    def rollback_workflow(self, key: str, version: int) -> ApplyReport:
        """Publish version ``version``'s document again, as the newest version."""
        return self.apply_workflow(self.workflow_document(key, version), activate=False)

    def migrate_runs(self, key: str, from_version: int, mapping: Mapping[str, str]) -> int:
        """Move the runs inside ``from_version`` to the current version; ``mapping`` renames
        steps (old id -> new id); every step a run stands on must exist afterwards."""
        with transaction(self.engine) as connection:
            history = workflows.versions_txn(connection, key)
            source = next((v for v in history if v["version"] == from_version), None)
            current = next(v for v in history if v["current"])
            if source is None:
                raise InvalidInput(f"workflow {key!r} has no version {from_version}")
            target = parse_workflow(
                workflows.version_document_txn(connection, key, current["version"]), stored=True
            )
            old = parse_workflow(
                workflows.version_document_txn(connection, key, from_version), stored=True
            )
            missing = sorted({mapping.get(s, s) for s in old.steps} - set(target.steps))
            if missing:
                raise InvalidInput(
                    f"steps {', '.join(missing)} do not exist in version {current['version']}: "
                    "map them (--map OLD=NEW)"
                )
            workflow_id = next(
                r.id for r in workflows.workflow_rows_txn(connection) if r.key == key
            )
            return runs_store.migrate_txn(
                connection, workflow_id, source["id"], current["id"], mapping, self.clock.now()
            )

    # contacts, attributes, lists

    def define_attribute(self, definition: AttributeDefinition) -> None:
        attributes.define(self, definition)

    def attribute_definitions(self) -> dict[str, AttributeDefinition]:
        return attributes.definitions(self)

    def create_lists(self, names: Iterable[str]) -> list[str]:
        return list_service.create(self, names)

    def create_user(self, name: str, email: str) -> int:
        """A team member (owner of contacts, deals and tasks); the email must be new."""
        return users.create(self, name, email)

    def import_contacts_csv(self, lines: Iterable[str]) -> ImportReport:
        return imports.import_csv(self, lines)

    def upsert_contacts(self, inputs: Sequence[ContactInput]) -> tuple[int, int]:
        """Create or update contacts by email (case-insensitive): (created, updated)."""
        return contact_service.upsert(self, inputs)

    # events

    def record_events(
        self, inputs: Sequence[EventInput], *, contacts_first: Sequence[ContactInput] = ()
    ) -> EventReport:
        """Store the valid events (creating unknown contacts); report the others by index
        (:func:`journeyman.services.events.record`)."""
        return event_service.record(self, inputs, contacts_first=contacts_first)

    def enrol(
        self,
        key: str,
        *,
        emails: Sequence[str] = (),
        lists: Sequence[str] = (),
        segment: Mapping[str, Any] | None = None,
    ) -> int:
        """Manual enrolment into active workflow ``key`` of the contacts with these emails,
        the members of these lists and the contacts matching ``segment`` (a condition), as
        its re-entry rules allow (on the next engine tick). The number of contacts; unknown
        workflows, contacts and lists are refused."""
        wanted = [normalize_email(e) for e in emails]
        if segment is not None:
            wanted += self.segment_emails(segment)
        with transaction(self.engine) as connection:
            return system_events.enrol_manually_txn(
                connection, key, wanted, list(lists), self.clock.now()
            )

    def segment_emails(self, segment: Mapping[str, Any], *, page: int = 1000) -> list[str]:
        """The emails of the contacts that match a condition now (read page by page, facts
        loaded with one query per kind and page)."""
        from pydantic import TypeAdapter, ValidationError

        from journeyman.conditions import Condition, evaluate, needs_of
        from journeyman.engine.facts import load_items_txn
        from journeyman.model.runs import RunView

        try:
            condition = TypeAdapter(Condition).validate_python(dict(segment))
        except ValidationError as exc:
            raise InvalidInput(f"the segment is not a valid condition: {exc}") from None
        needs = needs_of(condition)
        found: list[str] = []
        after = 0
        while True:
            with transaction(self.engine) as connection:
                page_rows = contacts.contact_page_txn(connection, after, page)
                if not page_rows:
                    return found
                probes = [
                    RunView(run_id=i, workflow_id=0, version_id=0, contact_id=i, step_id="", seq=0)
                    for i, _ in page_rows
                ]
                items = load_items_txn(
                    connection,
                    needs,
                    probes,
                    self.clock.now(),
                    default_timezone=self.settings.default_timezone,
                )
            emails = dict(page_rows)
            found += [
                emails[i.run.contact_id]
                for i in items
                if evaluate(condition, i.facts).result and emails[i.run.contact_id]
            ]
            after = page_rows[-1][0]

    # secrets

    def rotate_secret(self, grace: dt.timedelta) -> secret_service.StoredSecret:
        """A new signing secret; the previous ones verify for ``grace`` at most
        (journeyman.signing). This process signs with the new one at once."""
        return secret_service.rotate(self, grace)

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
        self, transport: EmailTransport | None, *, batch_size: int | None = None, workers: int = 1
    ) -> RunSummary:
        """Move every due run and deliver every due message, then close the transport.

        ``workers`` > 1 runs shards 1.. in child processes (they use the system clock).
        """

        async def until_idle() -> RunSummary:
            try:
                return await self.run(transport, batch_size=batch_size, workers=workers)
            finally:
                if transport is not None:
                    await transport.aclose()

        return asyncio.run(until_idle())

    async def run(
        self,
        transport: EmailTransport | None,
        *,
        batch_size: int | None = None,
        workers: int = 1,
        until_idle: bool = True,
    ) -> RunSummary:
        """The engine (and the dispatcher, given a transport) in the running event loop."""
        dispatcher = self.dispatcher(transport) if transport is not None else None
        stepper = self.stepper(batch_size=batch_size, shard=(0, workers))
        try:
            if workers > 1:
                from journeyman.engine.workers import run_workers

                settings = replace(self.settings, batch_size=batch_size or self.settings.batch_size)
                parent = (stepper, dispatcher)
                return await run_workers(settings, workers, parent, until_idle=until_idle)
            self.events_stored = asyncio.Event()  # one of this event loop's own
            return await run(stepper, dispatcher, until_idle=until_idle, wake=self.events_stored)
        finally:
            if dispatcher is not None:
                await dispatcher.close_transports()


def _workflow_id_txn(connection: Connection, key: str) -> int:
    return next(r.id for r in workflows.workflow_rows_txn(connection) if r.key == key)


def _check_for_apply_txn(
    connection: Connection, workflow: Workflow, *, activate: bool
) -> tuple[str | None, KnownNames]:
    """What apply checks in its transaction (validate too, in a read-only one): the names the
    steps use. The workflow's status before (None: new) and the names that exist."""
    existing = workflows.status_of_txn(connection, workflow.key)
    status = WorkflowStatus.ACTIVE if activate else WorkflowStatus.DRAFT
    activating = (existing or status.value) == WorkflowStatus.ACTIVE.value
    return existing, _check_references_txn(connection, workflow, activating=activating)


def _check_references_txn(
    connection: Connection, workflow: Workflow, *, activating: bool
) -> KnownNames:
    known = _known_names_txn(connection, workflow)
    problems = reference_problems(workflow, known, activating=activating)
    if problems:
        raise InvalidWorkflow(problems)
    return known


def _known_names_txn(connection: Connection, workflow: Workflow) -> KnownNames:
    """Of the names ``workflow`` uses, those that exist: every attribute and list, the users
    it names, the workflows it starts with the steps of their current versions."""
    named = workflow.references()
    started = named.get("workflows", {})
    versions = {r.key: r.version_id for r in workflows.workflow_rows_txn(connection)}
    versions = {key: version for key, version in versions.items() if key in started}
    documents = workflows.definitions_txn(connection, [v for v in versions.values() if v])
    return KnownNames(
        attributes=frozenset(contacts.attribute_definitions_txn(connection)),
        users=frozenset(crm.users_by_email_txn(connection, named.get("users", {}))),
        workflows={
            key: frozenset(s.get("id") for s in documents[v].get("steps", [])) if v else None
            for key, v in versions.items()
        },
        lists=frozenset(lists.list_ids_txn(connection)),
    )
