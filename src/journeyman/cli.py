"""The ``journeyman`` command."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import io
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from journeyman.clock import FakeClock
from journeyman.config import Settings
from journeyman.errors import InvalidInput, InvalidWorkflow, JourneymanError
from journeyman.model.contacts import AttributeDefinition, AttributeType, parse_allowed_values

# The engine, the store and their libraries are imported by the commands that use them, so
# `journeyman --help` and a mistyped option answer at once, and each command loads only its
# part (tests/unit/test_cli_startup.py holds the line).
if TYPE_CHECKING:
    from journeyman import demo as demo_module
    from journeyman import simulation
    from journeyman.app import App
    from journeyman.services.workflows import WorkflowStatus

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False
)
workflow_app = typer.Typer(no_args_is_help=True, help="Apply, validate and manage workflows.")
contacts_app = typer.Typer(no_args_is_help=True, help="Import and inspect contacts.")
attributes_app = typer.Typer(no_args_is_help=True, help="Define contact attributes.")
lists_app = typer.Typer(no_args_is_help=True, help="Create and list contact lists.")
event_app = typer.Typer(no_args_is_help=True, help="Send events.")
outbox_app = typer.Typer(no_args_is_help=True, help="Read the outbox (captured email).")
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
users_app = typer.Typer(no_args_is_help=True, help="Team members (owners of contacts, deals).")
deals_app = typer.Typer(no_args_is_help=True, help="Deals created by workflows.")
tasks_app = typer.Typer(no_args_is_help=True, help="Tasks created by workflows.")
for sub, name in (
    (workflow_app, "workflow"),
    (contacts_app, "contacts"),
    (attributes_app, "attributes"),
    (lists_app, "lists"),
    (users_app, "users"),
    (deals_app, "deals"),
    (tasks_app, "tasks"),
    (event_app, "event"),
    (outbox_app, "outbox"),
    (db_app, "db"),
):
    app.add_typer(sub, name=name)

# User data (step ids, names, messages) is printed as it is: Rich would read "[b]" as markup,
# ":a:" as an emoji and colour numbers and URLs. Styles are given as Text where wanted.
# Soft wrap: a line longer than the terminal is not broken (an error stays one line).
out = Console(markup=False, emoji=False, highlight=False, soft_wrap=True)
err = Console(stderr=True, markup=False, emoji=False, highlight=False, soft_wrap=True)


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


@contextlib.contextmanager
def _app(ctx: typer.Context) -> Iterator[App]:
    from journeyman.app import App

    journeyman = App.open(_settings(ctx))
    try:
        yield journeyman
    finally:
        journeyman.close()


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option("--db", help="database URL (default: $JOURNEYMAN_DATABASE_URL or sqlite)"),
    ] = None,
) -> None:
    """Journeyman: marketing-automation workflows, run in cohorts."""
    try:
        settings = Settings.from_env(os.environ)
    except ValueError as exc:  # a bad JOURNEYMAN_* setting: one line, no traceback
        raise InvalidInput(str(exc)) from None
    if db:
        settings = replace(settings, database_url=db)
    ctx.obj = settings


# db


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Bring the database schema to the newest version."""
    from journeyman.services import database

    with _app(ctx) as journeyman:
        revision = database.revision(journeyman)
    out.print(f"database at revision {revision}")


# workflows


@workflow_app.command("apply")
def workflow_apply(
    ctx: typer.Context,
    file: Path,
    draft: Annotated[bool, typer.Option(help="store a new workflow as draft, not active")] = False,
) -> None:
    """Validate FILE and store it as the workflow's next version."""
    from journeyman.documents import load_document
    from journeyman.services import workflows

    document = load_document(file)
    with _app(ctx) as journeyman:
        report = workflows.apply(journeyman, document, activate=not draft)
    what = (
        f"version {report.version}" if report.created else f"unchanged at version {report.version}"
    )
    out.print(f"workflow {report.key}: {what} ({report.status})")
    for name in report.lists_created:
        out.print(f"  created list {name!r}")


@workflow_app.command("validate")
def workflow_validate(
    ctx: typer.Context,
    file: Path,
    draft: Annotated[bool, typer.Option(help="check as apply --draft would")] = False,
    document_only: Annotated[
        bool, typer.Option("--document-only", help="do not look into the database")
    ] = False,
) -> None:
    """Check FILE as apply would, storing nothing: the document, then, when the database
    exists, the attributes, users and workflows its steps name."""
    from journeyman.app import App
    from journeyman.documents import load_document
    from journeyman.services import workflows
    from journeyman.workflow.document import parse_workflow

    document = load_document(file)
    journeyman, why = (
        (None, "--document-only") if document_only else App.open_existing(_settings(ctx))
    )
    if journeyman is None:
        workflow = parse_workflow(document)
        out.print(f"{file}: valid ({len(workflow.steps)} steps, key {workflow.key})")
        out.print(f"  names of attributes, users and workflows not checked: {why}")
        return
    try:
        report = workflows.validate(journeyman, document, activate=not draft)
    finally:
        journeyman.close()
    workflow = report.workflow
    out.print(f"{file}: valid ({len(workflow.steps)} steps, key {workflow.key})")
    for name in report.lists_to_create:
        out.print(f"  apply creates list {name!r}")


@workflow_app.command("schema")
def workflow_schema() -> None:
    """Print the JSON Schema of workflow documents."""
    from journeyman.workflow.document import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


@workflow_app.command("list")
def workflow_list(ctx: typer.Context) -> None:
    from journeyman.services import workflows

    with _app(ctx) as journeyman:
        rows = workflows.list_workflows(journeyman)
    _table(rows, ["key", "name", "status", "version"])


def _set_status(ctx: typer.Context, key: str, status: WorkflowStatus) -> None:
    from journeyman.services import workflows

    with _app(ctx) as journeyman:
        workflows.set_status(journeyman, key, status)
    out.print(f"workflow {key}: {status.value}")


@workflow_app.command("activate")
def workflow_activate(ctx: typer.Context, key: str) -> None:
    from journeyman.services.workflows import WorkflowStatus

    _set_status(ctx, key, WorkflowStatus.ACTIVE)


@workflow_app.command("pause")
def workflow_pause(ctx: typer.Context, key: str) -> None:
    from journeyman.services.workflows import WorkflowStatus

    _set_status(ctx, key, WorkflowStatus.PAUSED)


@workflow_app.command("enrol")
def workflow_enrol(
    ctx: typer.Context,
    key: str,
    email: Annotated[list[str] | None, typer.Option(help="a contact (repeat for more)")] = None,
    list_: Annotated[
        list[str] | None, typer.Option("--list", help="every member of this list (repeatable)")
    ] = None,
    segment: Annotated[
        str | None,
        typer.Option(help="contacts matching a condition, as YAML/JSON: '{in_list: VIP}'"),
    ] = None,
) -> None:
    """Enrol contacts into active workflow KEY by hand (its re-entry rules apply); they
    start on the next engine run."""
    from journeyman import nesting
    from journeyman.services import enrolment

    if not email and not list_ and not segment:
        raise InvalidInput("name the contacts: --email EMAIL, --list NAME or --segment COND")
    condition = None
    if segment:
        import yaml

        try:
            condition = nesting.load_yaml(segment, MAX_VALUE_DEPTH)
        except (yaml.YAMLError, nesting.TooDeep) as exc:
            reason = _reason(exc)
            raise InvalidInput(f"--segment {segment!r:.100} is not YAML/JSON: {reason}") from None
        if not isinstance(condition, dict):
            raise InvalidInput(f"--segment {segment!r} is not a condition (a mapping)")
    with _app(ctx) as journeyman:
        count = enrolment.enrol(
            journeyman, key, emails=email or [], lists=list_ or [], segment=condition
        )
    out.print(f"workflow {key}: {count} contact(s) queued for enrolment")


@workflow_app.command("stop")
def workflow_stop(ctx: typer.Context, key: str) -> None:
    """No new entries, and every run inside exits (reason: workflow stopped)."""
    from journeyman.services import workflows
    from journeyman.services.workflows import WorkflowStatus

    with _app(ctx) as journeyman:
        exited = workflows.set_status(journeyman, key, WorkflowStatus.STOPPED)
    out.print(f"workflow {key}: stopped; {exited} run(s) exited")


@workflow_app.command("history")
def workflow_history(ctx: typer.Context, key: str) -> None:
    """The versions of KEY, with the runs on each."""
    from journeyman.services import versions

    with _app(ctx) as journeyman:
        rows = versions.history(journeyman, key)
    for row in rows:
        row["current"] = "*" if row["current"] else ""
    _table(rows, ["version", "created_at", "runs", "current"])


@workflow_app.command("diff")
def workflow_diff(
    ctx: typer.Context,
    key: str,
    old: Annotated[int, typer.Argument(help="version")],
    new: Annotated[int | None, typer.Argument(help="version (default: current)")] = None,
) -> None:
    """What changed between two versions (a unified diff of their YAML)."""
    from journeyman.services import versions

    with _app(ctx) as journeyman:
        _, diff = versions.diff(journeyman, key, old, new)
    sys.stdout.write(diff)


@workflow_app.command("simulate")
def workflow_simulate(
    ctx: typer.Context,
    workflow: Annotated[str, typer.Argument(help="a workflow file, or the key of a stored one")],
    email: Annotated[
        str | None, typer.Option(help="a stored contact (copied with its history) or a new one")
    ] = None,
    event: Annotated[
        str | None, typer.Option(help="the event that enters (default: the entry point's)")
    ] = None,
    prop: Annotated[list[str] | None, typer.Option(help="event property key=value")] = None,
    attribute: Annotated[
        list[str] | None, typer.Option(help="contact attribute NAME=value, set on top")
    ] = None,
    in_list: Annotated[
        list[str] | None, typer.Option("--list", help="the contact is also in this list")
    ] = None,
    webhook_status: Annotated[int, typer.Option(help="what every webhook answers")] = 200,
    webhook_json: Annotated[
        str | None, typer.Option(help="the JSON every webhook answers with")
    ] = None,
    horizon_days: Annotated[int, typer.Option(min=1, max=3660, help="stop after")] = 400,
    then: Annotated[
        list[str] | None,
        typer.Option(
            "--then",
            help="a later event of the contact: 'NAME@DELAY [key=value ...]', DELAY like "
            "30m, 2h, 3d or 1d12h after the entering event",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Dry run: the contact and the event through the workflow with time skipped, sending
    nothing (webhooks are answered, not called); the path and the reason of every step."""
    from journeyman import simulation
    from journeyman.documents import load_document
    from journeyman.services import versions

    path = Path(workflow)
    with _app(ctx) as journeyman:
        document: Mapping[str, Any] = (
            load_document(path)
            if path.suffix in (".yaml", ".yml", ".json") or path.is_file()
            else versions.current_document(journeyman, workflow)
        )
        try:
            answer = (
                _json_value(webhook_json, "--webhook-json") if webhook_json is not None else None
            )
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"--webhook-json is not JSON: {exc}") from None
        scenario = simulation.Scenario(
            email=email,
            attributes=dict(parse_property(a) for a in attribute or []),
            lists=tuple(in_list or ()),
            event=event,
            properties=dict(parse_property(p) for p in prop or []),
            webhook_status=webhook_status,
            webhook_json=answer,
            horizon=dt.timedelta(days=horizon_days),
            later=tuple(parse_later_event(t) for t in then or []),
        )
        found = simulation.simulate(journeyman, document, scenario)
    if as_json:
        out.print_json(json.dumps(dataclasses.asdict(found), default=str))
        return
    _print_simulation(found)


_DELAY_PART = re.compile(r"(\d{1,6})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_later_event(text: str) -> simulation.LaterEvent:
    """``order_created@30m cart_id=C1`` -> a LaterEvent (properties as in ``--prop``)."""
    from journeyman import simulation

    head, *props = text.split() or [""]
    name, sep, delay = head.partition("@")
    parts = _DELAY_PART.findall(delay)
    if not sep or not name or not parts or "".join(a + u for a, u in parts) != delay:
        raise InvalidInput(
            f"--then {text!r}: expected NAME@DELAY [key=value ...], DELAY like 30m, 2h or 1d12h"
        )
    after = dt.timedelta()
    for amount, unit in parts:
        after += dt.timedelta(**{_UNITS[unit]: int(amount)})
    properties = dict(parse_property(p) for p in props)
    return simulation.LaterEvent(after=after, name=name, properties=properties)


def _print_simulation(found: simulation.Simulation) -> None:
    who = "stored contact" if found.stored_contact else "new contact"
    out.print(
        Text(f"{found.workflow}: {who} {found.email}, event {found.event} at {found.started_at}")
    )
    if not found.entered:
        reasons = "; ".join(found.refusals) or "the event matches no entry point"
        out.print(Text(f"did not enter: {reasons}"))
    table = Table("after", "step", "kind", "result", "way out", "reason")
    for step in found.steps:
        table.add_row(
            *(
                Text(v)
                for v in (
                    _after(step.at - found.started_at),
                    step.step_id,
                    step.kind,
                    step.result,
                    step.branch or "",
                    step.reason,
                )
            )
        )
    if found.steps:
        out.print(table)
    for message in found.messages:
        if message.channel == "webhook":
            continue  # the calls follow
        line = f"{message.channel} to {message.recipient or '-'}: {message.subject or message.text}"
        status = message.status + (f": {message.reason}" if message.reason else "")
        out.print(Text(f"{_after(message.at - found.started_at)}  {line} ({status})"))
    for call in found.webhooks:
        out.print(Text(f"{_after(call.at - found.started_at)}  webhook {call.method} {call.url}"))
    state = ", ".join(
        f"{r['status']}" + (f" at {r['step_id']}" if r["step_id"] else "") for r in found.runs
    )
    end = "ended" if found.finished else "still inside at the horizon"
    out.print(Text(f"{end} after {_after(found.ended_at - found.started_at)}: {state or 'no run'}"))


def _after(delta: dt.timedelta) -> str:
    """``+2d 3h 5m``; ``+0m`` for less than a minute."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m"]
    if minutes == 0 and (days or hours):
        parts.pop()
    return "+" + " ".join(p for p in parts if p)


@workflow_app.command("rollback")
def workflow_rollback(
    ctx: typer.Context, key: str, version: Annotated[int, typer.Option("--to")]
) -> None:
    """Publish an earlier version again as the newest one (runs in flight stay where they are)."""
    from journeyman.services import versions

    with _app(ctx) as journeyman:
        report = versions.rollback(journeyman, key, version)
    out.print(f"workflow {key}: version {version} published again as version {report.version}")


@workflow_app.command("migrate")
def workflow_migrate(
    ctx: typer.Context,
    key: str,
    from_version: Annotated[int, typer.Option("--from", help="the version the runs are on")],
    map_: Annotated[
        list[str] | None, typer.Option("--map", help="OLD_STEP=NEW_STEP (repeatable)")
    ] = None,
) -> None:
    """Move the runs inside an older version onto the current one."""
    from journeyman.services import workflows

    pairs = [m.partition("=") for m in map_ or []]  # step ids as written: "true" stays "true"
    if any(not old or not sep or not new for old, sep, new in pairs):
        raise InvalidInput(f"--map {' '.join(map_ or [])!r}: expected OLD_STEP=NEW_STEP")
    mapping = {old: new for old, _, new in pairs}
    with _app(ctx) as journeyman:
        moved = workflows.migrate_runs(journeyman, key, from_version, mapping)
    out.print(f"workflow {key}: {moved} run(s) moved from version {from_version}")


# contacts, attributes, lists


@contacts_app.command("import")
def contacts_import(
    ctx: typer.Context,
    file: Path,
    encoding: Annotated[
        str | None,
        typer.Option(help="the file's encoding (default: UTF-8, else cp1252, else latin-1)"),
    ] = None,
) -> None:
    """Import FILE (CSV: a header row with EMAIL and attribute names)."""
    from journeyman.imports import decode_csv
    from journeyman.services import imports

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {file}: {exc.strerror}") from None
    text, used = decode_csv(data, encoding)
    if encoding is None and not used.startswith("utf-8"):
        err.print(f"{file}: not UTF-8, read as {used} (name another with --encoding)")
    with _app(ctx) as journeyman:
        report = imports.import_csv(journeyman, io.StringIO(text, newline=""))
    out.print(f"imported: {report.created} created, {report.updated} updated")
    for error in report.errors:
        err.print(Text(f"skipped {error}", style="yellow"))
    if report.errors:
        err.print(Text(f"{len(report.errors)} row(s) skipped", style="yellow"))


@contacts_app.command("show")
def contacts_show(ctx: typer.Context, email: str) -> None:
    """A contact with its journey: every step with the reason."""
    from journeyman.services import journeys

    with _app(ctx) as journeyman:
        contact, journey = journeys.of_email(journeyman, email.strip().lower())
    if contact is None or journey is None:
        raise JourneymanError(f"no contact with email {email!r}")
    attributes = json.dumps(dict(contact.attributes), ensure_ascii=False)
    out.print(f"contact {contact.id} {contact.email} {attributes}")
    _table(journey.log, ["run_id", "seq", "step_id", "kind", "result", "branch", "reason"])
    if journey.refusals:
        out.print("did not enter:")
        _table(journey.refusals, ["workflow", "event_id", "reason", "at"])


@attributes_app.command("define")
def attributes_define(
    ctx: typer.Context,
    name: str,
    type_: Annotated[AttributeType, typer.Argument(metavar="TYPE")],
    value: Annotated[list[str] | None, typer.Option(help="allowed value (category)")] = None,
) -> None:
    """Define attribute NAME of TYPE (text, number, date, boolean, category)."""
    from journeyman.services import attributes

    allowed = parse_allowed_values(value or [])
    if type_ is AttributeType.CATEGORY and not allowed:
        raise InvalidInput("a category attribute needs --value for each allowed value")
    with _app(ctx) as journeyman:
        attributes.define(
            journeyman, AttributeDefinition(name=name.upper(), type=type_, allowed_values=allowed)
        )
    out.print(f"attribute {name.upper()}: {type_.value}")


@attributes_app.command("list")
def attributes_list(ctx: typer.Context) -> None:
    from journeyman.services import attributes

    with _app(ctx) as journeyman:
        rows = [
            {"name": d.name, "type": d.type.value, "values": ", ".join(d.allowed_values)}
            for d in attributes.definitions(journeyman).values()
        ]
    _table(rows, ["name", "type", "values"])


@lists_app.command("create")
def lists_create(ctx: typer.Context, name: str) -> None:
    from journeyman.services import lists as list_service

    with _app(ctx) as journeyman:
        created = list_service.create(journeyman, [name])
    out.print(f"list {name!r}: {'created' if created else 'exists already'}")


@lists_app.command("list")
def lists_list(ctx: typer.Context) -> None:
    from journeyman.services import lists as list_service

    with _app(ctx) as journeyman:
        rows = list_service.summaries(journeyman)
    _table(rows, ["id", "name", "members"])


# users, deals, tasks (CRM)


@users_app.command("create")
def users_create(ctx: typer.Context, name: str, email: str) -> None:
    """Add team member NAME with EMAIL (workflows name users by email)."""
    from journeyman.services import crm

    with _app(ctx) as journeyman:
        user_id = crm.create_user(journeyman, name, email)
    out.print(f"user {email.strip().lower()} created (id {user_id})", highlight=False)


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """The team members."""
    from journeyman.services import crm

    with _app(ctx) as journeyman:
        rows = crm.users(journeyman)
    _table(rows, ["id", "name", "email"])


@deals_app.command("list")
def deals_list(ctx: typer.Context, limit: Annotated[int, typer.Option(min=1)] = 100) -> None:
    """The newest deals first."""
    from journeyman.services import crm

    with _app(ctx) as journeyman:
        rows = crm.deals(journeyman, limit=limit)
    _table(rows, ["id", "name", "pipeline", "stage", "amount", "status", "owner", "contact"])


@tasks_app.command("list")
def tasks_list(ctx: typer.Context, limit: Annotated[int, typer.Option(min=1)] = 100) -> None:
    """The newest tasks first."""
    from journeyman.services import crm

    with _app(ctx) as journeyman:
        rows = crm.tasks(journeyman, limit=limit)
    _table(rows, ["id", "title", "type", "due_at", "assignee", "contact", "deal_id", "done"])


# events


MAX_VALUE_DEPTH = 32  # levels of a JSON value on the command line (the API's limits.MAX_DEPTH)


def parse_property(item: str) -> tuple[str, Any]:
    """``key=value``: the value as JSON when it parses (numbers, true, null), else text."""
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise InvalidInput(f"property {item!r}: expected key=value")
    try:
        return key, _json_value(raw, f"property {key}")
    except json.JSONDecodeError:
        return key, raw


def _json_value(text: str, what: str) -> Any:
    """``json.loads(text)``, refusing a value nested deeper than :data:`MAX_VALUE_DEPTH`
    before ``json`` recurses into it."""
    from journeyman import nesting

    if nesting.json_depth(text, MAX_VALUE_DEPTH) > MAX_VALUE_DEPTH:
        raise InvalidInput(f"{what}: nested deeper than {MAX_VALUE_DEPTH} levels")
    return json.loads(text)


def _reason(exc: Exception) -> str:
    """A YAML error on one line: what is wrong, and where (PyYAML's own text quotes the
    line with a caret under it, on several)."""
    import yaml

    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        where = f" (column {mark.column + 1})" if mark is not None else ""
        return f"{exc.problem}{where}"
    return str(exc)


def _event_time(text: str) -> dt.datetime:
    """``--time``: an ISO 8601 date or date-time; one without an offset is UTC (as over the
    API)."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"--time {text!r} is not an ISO 8601 date and time, e.g. 2027-01-15T09:00:00+01:00"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


@event_app.command("send")
def event_send(
    ctx: typer.Context,
    name: str,
    email: Annotated[str, typer.Option(help="the contact (created if new)")],
    prop: Annotated[list[str] | None, typer.Option(help="property key=value")] = None,
    time: Annotated[str | None, typer.Option(help="when it happened (ISO 8601)")] = None,
    historical: Annotated[bool, typer.Option(help="store it without triggering")] = False,
) -> None:
    """Record event NAME for a contact; workflows pick it up on the next engine run."""
    from journeyman.services import events as event_service
    from journeyman.services.events import EventInput

    properties = dict(parse_property(p) for p in prop or [])
    occurred = _event_time(time) if time else None
    with _app(ctx) as journeyman:
        report = event_service.record(
            journeyman,
            [
                EventInput(
                    name=name,
                    email=email,
                    properties=properties,
                    occurred_at=occurred,
                    historical=historical,
                    source="cli",
                )
            ],
        )
    if report.rejected:
        raise InvalidInput(report.rejected[0][1])
    out.print(f"event {name} recorded (id {report.ids[0]})")


# engine


@app.command("run")
def run_engine(
    ctx: typer.Context,
    until_idle: Annotated[bool, typer.Option(help="stop when nothing is due")] = False,
    batch_size: Annotated[int | None, typer.Option(min=1)] = None,
    workers: Annotated[int, typer.Option(min=1, help="processes, one per shard of contacts")] = 1,
    now: Annotated[
        str | None,
        typer.Option(help="run as of this time (ISO 8601 with offset), with --until-idle"),
    ] = None,
) -> None:
    """Run the engine and the email dispatcher."""
    import asyncio

    from journeyman.app import App
    from journeyman.engine.runner import RunSummary
    from journeyman.runtime import engine

    settings = _settings(ctx)
    clock = _as_of(now, until_idle=until_idle, workers=workers) if now else None

    async def main(journeyman: App) -> RunSummary:
        transport = engine.email_transport(settings)
        try:
            return await engine.run_engine(
                journeyman, transport, batch_size=batch_size, workers=workers, until_idle=until_idle
            )
        finally:
            await transport.aclose()

    journeyman = App.open(settings, clock=clock)
    try:
        summary = asyncio.run(main(journeyman))
    finally:
        journeyman.close()
    out.print(
        f"idle: {summary.events} events, {summary.enrolled} runs started, "
        f"{summary.steps} steps, {summary.messages} messages delivered"
    )


class ServeEngine(enum.StrEnum):
    PROCESS = "process"
    IN_PROCESS = "in-process"


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    engine: Annotated[
        ServeEngine,
        typer.Option(
            help="run the engine and the dispatcher in a child process (a core of their "
            "own) or in the API's process (one core)"
        ),
    ] = ServeEngine.PROCESS,
) -> None:
    """Run the HTTP API, the engine and the message dispatcher."""
    from journeyman.runtime import serving

    serving.serve(_settings(ctx), host=host, port=port, engine=engine.value)


@app.command("worker")
def worker(ctx: typer.Context) -> None:
    """Run the engine and the message dispatcher (the API runs elsewhere)."""
    from journeyman.runtime import engine

    engine.work(_settings(ctx))


apikey_app = typer.Typer(no_args_is_help=True, help="Keys of the HTTP API.")
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("create")
def apikey_create(
    ctx: typer.Context,
    name: str,
    scope: Annotated[
        str,
        typer.Option(
            "--scope",
            help="admin (every route) or tracker (only the browser tracker's /api/v2: public)",
        ),
    ] = "admin",
) -> None:
    """Create key NAME and print it; it is stored hashed and shown this once only."""
    from journeyman.services import api_keys

    with _app(ctx) as journeyman:
        created = api_keys.create(journeyman, name, scope=scope)
    err.print(
        f"{created.scope} api key {created.name!r} created; it is shown only now:",
        markup=False,
        highlight=False,
    )
    sys.stdout.write(created.key + "\n")


@apikey_app.command("list")
def apikey_list(ctx: typer.Context) -> None:
    """The keys (their first characters, never the keys): name, scope, created, last used."""
    from journeyman.services import api_keys

    with _app(ctx) as journeyman:
        rows = api_keys.listed(journeyman)
    _table(rows, ["name", "scope", "prefix", "created_at", "last_used_at"])


@apikey_app.command("revoke")
def apikey_revoke(ctx: typer.Context, name: str) -> None:
    """Delete key NAME: every running server refuses it from its next request on."""
    from journeyman.services import api_keys

    with _app(ctx) as journeyman:
        api_keys.revoke(journeyman, name)
    err.print(f"api key {name!r} revoked", markup=False, highlight=False)


secret_app = typer.Typer(no_args_is_help=True, help="The secret that signs links and tokens.")
app.add_typer(secret_app, name="secret")


@secret_app.command("rotate")
def secret_rotate(
    ctx: typer.Context,
    grace: Annotated[
        str,
        typer.Option(
            "--grace", help="how long tokens signed before keep verifying: 7d, 12h, 0 (none)"
        ),
    ] = "7d",
) -> None:
    """A new signing secret; links in messages already sent keep working for --grace."""
    from journeyman import signing
    from journeyman.services import signing_secrets

    if _settings(ctx).secret:
        raise InvalidInput(
            "JOURNEYMAN_SECRET is set and overrides the database's secret: change it there, "
            "or unset it to use (and rotate) the database's own"
        )
    try:
        period = signing.parse_grace(grace)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    with _app(ctx) as journeyman:
        rotated = signing_secrets.rotate(journeyman, period)
    until = (rotated.created_at + period).isoformat(timespec="seconds")
    message = (
        f"secret rotated (generation {rotated.generation}); tokens signed before verify until "
        f"{until}"
        if rotated.generation > 1
        else "secret generated (generation 1): this database had none yet, no token to keep"
    )
    err.print(message, markup=False, highlight=False)


@secret_app.command("list")
def secret_list(ctx: typer.Context) -> None:
    """The database's secrets (never their values): created, retired, verifying until."""
    from journeyman.services import signing_secrets

    with _app(ctx) as journeyman:
        found = signing_secrets.history(journeyman)
    rows = [
        {
            "generation": s.generation,
            "created_at": s.created_at,
            "retired_at": s.retired_at,
            "verifies_until": s.verifies_until or "(current)",
        }
        for s in found
    ]
    _table(rows, ["generation", "created_at", "retired_at", "verifies_until"])


def _as_of(text: str, *, until_idle: bool, workers: int) -> FakeClock:
    """A clock stopped at ``text``: the engine runs as of then (tests, backfills)."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--now {text!r} is not an ISO 8601 date and time") from None
    if when.tzinfo is None:
        raise InvalidInput(f"--now {text!r} needs a UTC offset, e.g. 2027-01-15T09:00:00+01:00")
    if not until_idle or workers > 1:
        raise InvalidInput("--now runs one process until idle: add --until-idle, no --workers")
    return FakeClock(when.astimezone(dt.UTC))


@app.command("demo")
def demo(
    contacts: Annotated[int, typer.Option(min=1, help="how many contacts")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    file: Annotated[Path, typer.Option(help="SQLite file (overwritten)")] = Path(
        "journeyman-demo.db"
    ),
    workers: Annotated[int, typer.Option(min=1, help="engine processes")] = 1,
) -> None:
    """Run the source document's example on a fresh SQLite file and report from the database."""
    from journeyman import demo as demo_module
    from journeyman.app import App

    for suffix in ("", "-wal", "-shm"):
        Path(f"{file}{suffix}").unlink(missing_ok=True)
    journeyman = App.open(Settings(database_url=f"sqlite:///{file}"))
    try:
        result = demo_module.run_demo(journeyman, contacts, workers=workers)
    finally:
        journeyman.close()
    if as_json:
        sys.stdout.write(json.dumps(result.as_dict()) + "\n")
        return
    _demo_summary(result, file)


def _demo_summary(result: demo_module.DemoResult, file: Path) -> None:
    table = Table(title="Coupon after the first purchase", show_header=True)
    table.add_column("measured in the database")
    table.add_column("value", justify="right")
    table.add_column("expected", justify="right")
    table.add_row("contacts", str(result.contacts), str(result.expected_emails))
    table.add_row("purchase events", str(result.purchases), "")
    table.add_row("runs completed", str(result.runs_completed), str(result.purchases))
    table.add_row(
        "coupon emails sent (captured)", str(result.emails_sent), str(result.expected_emails)
    )
    table.add_row(
        "added to 'Loyal customers'", str(result.added_to_list), str(result.expected_added_to_list)
    )
    table.add_row("contacts emailed twice", str(result.contacts_emailed_twice), "0")
    out.print(table)
    rate = result.purchases / result.seconds_engine if result.seconds_engine else 0
    out.print(
        f"engine: {result.seconds_engine:.2f} s for {result.purchases} purchases "
        f"({rate:,.0f}/s); loading took {result.seconds_loading:.2f} s"
    )
    verdict = (
        Text("as expected", style="green")
        if result.as_expected
        else Text("NOT as expected", style="red")
    )
    out.print(
        Text.assemble(verdict, f". Read the emails: journeyman --db sqlite:///{file} outbox list")
    )


# reports


report_app = typer.Typer(no_args_is_help=True, help="Reports.")
app.add_typer(report_app, name="report")


@report_app.command("conversions")
def report_conversions(
    ctx: typer.Context,
    by_step: Annotated[bool, typer.Option("--by-step", help="one row per step")] = False,
) -> None:
    """Conversions and revenue per workflow (and step), per currency."""
    from journeyman.services import reports

    with _app(ctx) as journeyman:
        rows = reports.conversions(journeyman, by_step=by_step)
    columns = ["workflow", *(["step"] if by_step else []), "conversions", "revenue", "currency"]
    _table(rows, columns)


@workflow_app.command("secret")
def workflow_secret(ctx: typer.Context, key: str) -> None:
    """The secret that signs KEY's webhook calls (Standard Webhooks, HMAC-SHA256)."""
    from journeyman.services import workflows

    with _app(ctx) as journeyman:
        sys.stdout.write(workflows.webhook_secret(journeyman, key) + "\n")


# outbox


@outbox_app.command("list")
def outbox_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="queued, sent, failed, suppressed")] = None,
    limit: int = 50,
    offset: int = 0,
) -> None:
    from journeyman.services import messages

    with _app(ctx) as journeyman:
        rows = messages.list_messages(journeyman, status=status, limit=limit, offset=offset)
    _table(rows, ["id", "status", "recipient", "subject", "step_id", "reason"])


@outbox_app.command("show")
def outbox_show(ctx: typer.Context, message_id: int) -> None:
    from journeyman.services import messages

    with _app(ctx) as journeyman:
        row = messages.row(journeyman, message_id)
    for key in (
        "id",
        "status",
        "reason",
        "sender",
        "recipient",
        "subject",
        "attempts",
        "provider_id",
    ):
        out.print(Text.assemble((key, "bold"), f": {row[key]}"))
    if row["text"]:
        out.print(Text.assemble("\n", ("text", "bold"), ":"))
        out.print(row["text"])
    out.print(Text.assemble("\n", ("html", "bold"), ":"))
    out.print(row["html"])


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    out.print(table)


def main() -> None:
    try:
        app()
    # Messages are not markup (the consoles read none): "[key=value ...]" is shown as it is.
    except InvalidWorkflow as exc:
        err.print(Text(str(exc), style="red"))
        raise SystemExit(2) from None
    except InvalidInput as exc:
        err.print(Text.assemble(("error:", "red"), f" {exc}"))
        raise SystemExit(2) from None
    except JourneymanError as exc:
        err.print(Text.assemble(("error:", "red"), f" {exc}"))
        raise SystemExit(1) from None
