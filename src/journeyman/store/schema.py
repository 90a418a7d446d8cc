"""The tables, in SQLAlchemy Core. Alembic migrations (``migrations/``) create them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


class UtcDateTime(sa.TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on both databases (SQLite stores them naive, in UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Journeyman stores aware UTC times")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
        return value.astimezone(dt.UTC)  # type: ignore[no-any-return]


Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY = rowid


def _only_where(condition: str) -> dict[str, Any]:
    clause = sa.text(condition)
    return {"sqlite_where": clause, "postgresql_where": clause}


def _run_fk(ondelete: str) -> sa.ForeignKey:
    # Deferred: the engine writes a new run's log and messages before the run row itself
    # (one insert per run at the end of the tick, instead of insert + update).
    return sa.ForeignKey("runs.id", ondelete=ondelete, deferrable=True, initially="DEFERRED")


# ``sqlite_autoincrement``: on the tables whose deleted rows' ids other rows keep, so that
# SQLite gives no id out twice (migration 0012): links in kept emails name contacts by id,
# kept messages and CRM records are keyed by run id, API clients keep list ids.
# PostgreSQL's sequences never reuse one.

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), unique=True),  # stored lower-case
    sa.Column("sms", sa.String(20)),  # unique where set (below)
    sa.Column("whatsapp", sa.String(20)),
    sa.Column("ext_id", sa.String(200)),  # unique where set (below)
    sa.Column("attributes", Json, nullable=False),
    sa.Column("timezone", sa.String(64)),
    sa.Column("email_blocklisted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("sms_blocklisted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("owner_id", sa.Integer),  # a user; no foreign key (added after the table)
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("modified_at", UtcDateTime, nullable=False),
    # Partial: an index of every contact's NULLs cost each new contact two index insertions
    # (migration 0010); NULLs never conflicted anyway.
    sa.Index("uq_contacts_sms", "sms", unique=True, **_only_where("sms IS NOT NULL")),
    sa.Index("uq_contacts_ext_id", "ext_id", unique=True, **_only_where("ext_id IS NOT NULL")),
    sqlite_autoincrement=True,
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

attribute_definitions = sa.Table(
    "attribute_definitions",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("allowed_values", Json, nullable=False),
)

# Brevo's folders of lists (migration 0016); lists.folder holds a folder's id as text.
contact_folders = sa.Table(
    "contact_folders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sqlite_autoincrement=True,
)

lists = sa.Table(
    "lists",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("folder", sa.String(200)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sqlite_autoincrement=True,
)

list_members = sa.Table(
    "list_members",
    metadata,
    sa.Column(
        "list_id", sa.Integer, sa.ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("contact_id", Id, sa.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("added_at", UtcDateTime, nullable=False),
    sa.Index(None, "contact_id"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    # No foreign key (migration 0011: its check was a third of storing an event on
    # PostgreSQL). Deleting a contact deletes its events; a writer holds the contacts of its
    # events FOR KEY SHARE (``contacts.ensure_contacts_txn``); the engine drops a queued
    # event whose contact is gone (``events.claim_queued_events_txn``).
    sa.Column("contact_id", Id, nullable=False),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("properties", Json, nullable=False),
    sa.Column("source", sa.String(50), nullable=False),
    sa.Column("historical", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("received_at", UtcDateTime, nullable=False),
    # PostgreSQL only: where the engine took the event in the order of events, when that
    # is not its id (it committed after a higher id the engine had taken; ``claim_marks``).
    sa.Column("taken_as", Id),
    sa.Index(None, "contact_id", "name", "occurred_at"),
)

# PostgreSQL only: the highest place in the order of events (``coalesce(taken_as, id)``)
# that the engine took so far, per shard of contacts (events.claim_queued_events_txn).
claim_marks = sa.Table(
    "claim_marks",
    metadata,
    sa.Column("shard_count", sa.Integer, primary_key=True),
    sa.Column("shard_index", sa.Integer, primary_key=True),
    sa.Column("high", Id, nullable=False),
)

# Events not yet turned into enrolments; a row is deleted in the transaction that enrols.
# ``contact_id`` lets a worker take only the contacts of its shard. No foreign key to
# ``events`` (a lookup and a row lock per event, migration 0009): deleting a contact deletes
# its entries, and the engine drops an entry whose event is gone.
event_queue = sa.Table(
    "event_queue",
    metadata,
    sa.Column("event_id", Id, primary_key=True),
    sa.Column("contact_id", Id, nullable=False),
)

workflows = sa.Table(
    "workflows",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("current_version_id", sa.Integer),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

workflow_versions = sa.Table(
    "workflow_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workflow_id", sa.Integer, sa.ForeignKey("workflows.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("definition", Json, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("workflow_id", "version"),
)

# What the builder saved and has not published (``store/drafts.py``): the document as sent,
# valid or not, and the version it started from. Publishing applies it and deletes the row.
workflow_drafts = sa.Table(
    "workflow_drafts",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("document", Json, nullable=False),
    sa.Column("based_on_version", sa.Integer),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    # No foreign keys to workflows and versions, which are never deleted (migration 0009:
    # two lookups and row locks per run inserted).
    sa.Column("workflow_id", sa.Integer, nullable=False),
    sa.Column("version_id", sa.Integer, nullable=False),
    sa.Column("contact_id", Id, sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("step_id", sa.String(64)),
    sa.Column("seq", sa.Integer, nullable=False),  # steps executed so far
    sa.Column("due_at", UtcDateTime),  # set while the run is active or waiting (or leased)
    sa.Column("claim", sa.String(64)),  # the worker holding the run until due_at (its lease)
    sa.Column("trigger_event_id", Id),
    sa.Column("context", Json, nullable=False),
    sa.Column("entered_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # Partial: finished runs (most of them) stay out of these indexes.
    sa.Index("ix_runs_due_at", "due_at", **_only_where("due_at IS NOT NULL")),
    sa.Index("ix_runs_claim", "claim", **_only_where("claim IS NOT NULL")),
    sa.Index(None, "workflow_id", "contact_id"),
    sa.Index(None, "contact_id"),
    sqlite_autoincrement=True,
)

run_log = sa.Table(
    "run_log",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("run_id", Id, _run_fk("CASCADE"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("step_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("result", sa.String(40), nullable=False),
    sa.Column("branch", sa.String(40)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index(None, "run_id", "seq"),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    sa.Column("run_id", Id, _run_fk("SET NULL")),
    sa.Column("workflow_id", sa.Integer),
    sa.Column("step_id", sa.String(64)),
    sa.Column("contact_id", Id),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("sender", sa.String(320), nullable=False),
    sa.Column("recipient", sa.String(320)),
    sa.Column("subject", sa.Text, nullable=False),  # "" for SMS, WhatsApp and webhooks
    sa.Column("html", sa.Text, nullable=False),
    sa.Column("text", sa.Text),  # the plain-text part; the body of an SMS
    sa.Column("headers", Json),  # extra email headers (List-Unsubscribe...)
    sa.Column("payload", Json),  # WhatsApp template and parameters; a webhook's request
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UtcDateTime),  # set while queued or sending (lease end)
    sa.Column("claim", sa.String(64)),  # the dispatcher holding it while sending
    sa.Column("provider_id", sa.String(300)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("sent_at", UtcDateTime),
    sa.Index("ix_messages_claim", "claim", **_only_where("claim IS NOT NULL")),
    sa.Index(
        "ix_messages_next_attempt_at",
        "next_attempt_at",
        **_only_where("next_attempt_at IS NOT NULL"),
    ),
    sa.Index(None, "contact_id"),
    # Per-step statistics of one workflow (/api/v1/workflows/KEY/stats) read only the index.
    sa.Index("ix_messages_workflow_step", "workflow_id", "step_id", "status"),
)

deals = sa.Table(
    "deals",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("pipeline", sa.String(100), nullable=False),
    sa.Column("stage", sa.String(100), nullable=False),
    sa.Column("amount", sa.Float),
    sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("status", sa.String(20), nullable=False),  # open, won, lost
    sa.Column("contact_id", Id, sa.ForeignKey("contacts.id", ondelete="SET NULL")),
    sa.Column("source_key", sa.String(200), unique=True),  # run:step:seq that created it
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index(None, "contact_id"),
)

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("type", sa.String(20), nullable=False),  # todo, call, email, meeting, deadline
    sa.Column("due_at", UtcDateTime),
    sa.Column("assignee_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("contact_id", Id, sa.ForeignKey("contacts.id", ondelete="SET NULL")),
    sa.Column("deal_id", Id, sa.ForeignKey("deals.id", ondelete="SET NULL")),
    sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("source_key", sa.String(200), unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index(None, "contact_id"),
)

# The position of each round-robin rotation (a workflow step's set of users).
round_robin = sa.Table(
    "round_robin",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)

conversions = sa.Table(
    "conversions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("contact_id", Id, sa.ForeignKey("contacts.id", ondelete="SET NULL")),
    sa.Column("workflow_id", sa.Integer),
    sa.Column("step_id", sa.String(64)),
    sa.Column("message_id", Id),  # the last message the run had sent
    sa.Column("source_key", sa.String(200), unique=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index(None, "workflow_id", "step_id"),
)

# Anniversary entries already due: a contact enters once per date, however often the scan
# runs (``system_events.record_due_anniversaries_txn``); rows older than a few days go.
anniversary_marks = sa.Table(
    "anniversary_marks",
    metadata,
    sa.Column("contact_id", Id, sa.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("attribute", sa.String(100), primary_key=True),
    sa.Column("days_before", sa.Integer, primary_key=True),
    sa.Column("due_on", sa.Date, primary_key=True),  # the contact's local date
)

# "Enrol everyone who already matches" on activation, throttled: where each workflow's scan
# of the contacts stands (``system_events.run_backfills_txn``).
entry_backfills = sa.Table(
    "entry_backfills",
    metadata,
    sa.Column(
        "workflow_id",
        sa.Integer,
        sa.ForeignKey("workflows.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("after_contact_id", sa.BigInteger, nullable=False),
    sa.Column("per_minute", sa.Integer, nullable=False),
    sa.Column("next_at", UtcDateTime, nullable=False),
)

# Keys of the HTTP API. Only a key's SHA-256 is stored (the key is shown once, at creation);
# ``prefix``, its first characters, tells keys apart in listings without revealing them.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(8), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_used_at", UtcDateTime),
    # "admin": every route; "tracker": only the browser tracker's /api/v2 (a public key).
    sa.Column("scope", sa.String(16), nullable=False, server_default="admin"),
)

# One row: raised by every revocation, read by each server on every request, so a server
# that remembers keys forgets them all at once when one is revoked (api/auth.py).
api_key_revision = sa.Table(
    "api_key_revision",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
)

# The secrets that sign links, unsubscribe tokens and coupon codes (journeyman.signing).
# The highest generation signs; a retired one still verifies until ``verifies_until``.
# The unique generation makes creating the first one (and each rotation) race-free.
signing_secrets = sa.Table(
    "signing_secrets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("generation", sa.Integer, nullable=False, unique=True),
    sa.Column("value", sa.String(128), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("retired_at", UtcDateTime),
    sa.Column("verifies_until", UtcDateTime),
)

# Why a contact did not enter a workflow when an event would have enrolled it (re-entry
# off, already inside, a contact filter that did not match...): the timeline shows it.
entry_refusals = sa.Table(
    "entry_refusals",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("workflow_id", sa.Integer, nullable=False),
    sa.Column("contact_id", Id, nullable=False),
    sa.Column("event_id", Id),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index(None, "contact_id"),
)
