"""The ASGI application: routes, API keys, Brevo's errors, the OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from journeyman import __version__, web
from journeyman.api import (
    attributes,
    contacts,
    errors,
    events,
    folders,
    imports,
    limits,
    lists,
    tracker,
    tracking,
    v1,
)
from journeyman.api.auth import KeyChecker
from journeyman.api.body_limit import BodyLimit
from journeyman.api.group_commit import EventWriter
from journeyman.app import App
from journeyman.clock import Clock
from journeyman.config import Settings

DESCRIPTION = """\
Journeyman speaks Brevo's public REST API v3 for contacts, lists, attributes and events, so
shops and apps (and Brevo's SDKs) switch by changing the base URL. Authenticate with the
`api-key` header (or `Authorization: Bearer KEY`); keys come from `journeyman apikey create`.
The browser tracker's routes (`/api/v2`) take a tracker key (`--scope tracker`) as `ma-key`.
Errors are Brevo's `{"code": ..., "message": ...}`. Times without an offset are UTC.
A Brevo v3 route Journeyman does not implement answers 501 `not_implemented` naming it, and
a parameter it cannot honour (`segmentId`, a `filter` other than `equals`) is a 400, never
ignored. Journeyman's extension: an event with `"historical": true` (or every event of a
request sent with the header `X-Journeyman-Historical: true`) is recorded for conditions
such as a first purchase without starting or steering workflows, as
`journeyman event send --historical`.

Journeyman's own API, under `/api/v1`, manages workflows (apply, validate, lifecycle,
per-step statistics) and reads runs, contact timelines, the outbox and conversion reports.
"""


def create_app(
    settings: Settings, *, clock: Clock | None = None, journeyman: App | None = None
) -> FastAPI:
    """The API over ``settings.database_url`` (migrated on first use), or over ``journeyman``
    when given (the caller then closes it)."""
    owned = journeyman is None
    journeyman = journeyman or App.open(settings, clock=clock)

    # PostgreSQL takes two transactions at a time; SQLite one (its single write lock).
    checker = KeyChecker(journeyman)
    writer = EventWriter(
        journeyman, writers=2 if journeyman.engine.dialect.name == "postgresql" else 1
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await writer.close()
            await checker.aclose()
            if owned:
                journeyman.close()

    api = FastAPI(
        title="Journeyman",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(limits.refuse_unstorable_parameters)],
    )
    api.state.journeyman = journeyman
    api.state.key_checker = checker
    api.state.event_writer = writer
    errors.install(api)
    api.add_middleware(BodyLimit)
    # Events first: routes are matched in order, and the event routes are the busiest.
    # Fixed paths before /v3/contacts/{identifier}, which would take "lists" for an email.
    for module in (events, lists, folders, attributes, imports, contacts, tracker, tracking):
        api.include_router(module.router)
    for router in v1.ROUTERS:
        api.include_router(router)
    web.mount(api)
    api.add_middleware(tracker.TrackerCors, origins=journeyman.settings.tracker_origins)
    return api
