"""The hot path: the common ``POST /v3/events`` answered without FastAPI's request machinery.

A single event is the API's busiest request, and with the engine running beside it the
server's CPU decides how many it takes. Profiled on SQLite, FastAPI and Starlette (the
middleware stack, routing, dependency solving, the response) were about two thirds of the
API process's time per event; storing it, a tenth. :class:`HotEvents` wraps the ASGI app
and answers the common case itself, with the same steps the route takes (the same model,
the same preparation, the same writer): a body of at most :data:`MAX_BODY` bytes of
``application/json``, no query string, a key the server already checked
(``KeyChecker.remembered``), and an event for a contact named by email that needs no
database read (``events._by_email_only``). Every other request, and any of these that
turns out not to be the common case before anything is stored (an invalid body, say),
goes to the app unchanged: its body is handed on as it was received, so the app answers
as it would have, with its errors and in its words. The app stays the only definition of
the endpoint; this is a shortcut through it for requests it would accept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi.security.utils import get_authorization_scheme_param
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from journeyman.api import events
from journeyman.api.auth import KeyChecker
from journeyman.api.errors import error_response, unexpected_error
from journeyman.api.group_commit import EventWriter
from journeyman.api.wire import parse_json

PATH = "/v3/events"
MAX_BODY = 64 * 1024  # bytes: a larger body (or a longer one than announced) goes to the app
_NO_CONTENT: Message = {"type": "http.response.start", "status": 204, "headers": []}
_HISTORICAL = events.HISTORICAL_HEADER.lower().encode()  # the app reads (and checks) it
_EMPTY: Message = {"type": "http.response.body", "body": b""}


class HotEvents:
    """``app`` with the common ``POST /v3/events`` answered directly (module docstring)."""

    def __init__(self, app: ASGIApp, *, checker: KeyChecker, writer: EventWriter) -> None:
        self.app = app
        self.checker = checker
        self.writer = writer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != PATH
            or scope["query_string"]
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        received, body = await _read_body(receive, headers)
        ready = None if body is None else await self._ready(headers, body)
        if ready is None:
            await self.app(scope, _replay(received, receive), send)
            return
        try:
            refused = await events._record(self.writer, [ready])
        except Exception as exc:  # answered as the app's handler for unexpected errors does
            await unexpected_error(PATH, exc)(scope, receive, send)
            return
        if refused:
            await error_response("invalid_parameter", refused[0][1])(scope, receive, send)
            return
        await send(_NO_CONTENT)
        await send(_EMPTY)

    async def _ready(self, headers: dict[bytes, bytes], body: bytes) -> events._Ready | None:
        """The event ready to store, or None when the request is not the common case."""
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type != b"application/json" or _HISTORICAL in headers:
            return None
        if await self.checker.remembered(_key(headers)) is None:
            return None
        try:
            return events._by_email_only(events.EventBody.model_validate(parse_json(body)))
        except Exception:  # refused (or failed) before anything was stored: the app answers
            return None


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by lower-case name (ASGI servers send them lower-cased); of a
    repeated header the first, which is what Starlette's ``Headers.get`` returns."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        found.setdefault(name, value)
    return found


def _key(headers: dict[bytes, bytes]) -> str | None:
    """The ``api-key`` header, else the ``Authorization: Bearer`` token, as the route's
    dependency reads them."""
    key = headers.get(b"api-key")
    if key:
        return key.decode("latin-1")
    scheme, token = get_authorization_scheme_param(
        headers.get(b"authorization", b"").decode("latin-1")
    )
    return token or None if scheme.lower() == "bearer" else None


async def _read_body(
    receive: Receive, headers: dict[bytes, bytes]
) -> tuple[list[Message], bytes | None]:
    """The messages received and the body they hold; None for the body when it is not a
    whole, small one (too long, announced as too long, or cut short by a disconnect)."""
    announced = headers.get(b"content-length")
    if announced is not None and not (announced.isdigit() and int(announced) <= MAX_BODY):
        return [], None
    received: list[Message] = []
    size = 0
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":
            return received, None
        size += len(message.get("body", b""))
        if size > MAX_BODY:
            return received, None
        if not message.get("more_body", False):
            return received, b"".join(m.get("body", b"") for m in received)


def _replay(received: list[Message], receive: Receive) -> Callable[[], Awaitable[Message]]:
    """``receive`` with the messages already taken from it handed out again first."""
    pending = list(received)

    async def replayed() -> MutableMapping[str, Any]:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
