"""Request bodies have a size limit per route, enforced before they are read into memory.

uvicorn reads a body of any length, and Starlette's ``Request.body()`` holds all of it:
without a limit one request could fill the server's memory. :class:`BodyLimit` wraps the
application: a ``Content-Length`` over the route's limit is answered 413 at once, without
reading the body; a body sent without one (chunked) is counted as the route reads it, and the
route fails with the same 413 at the first byte over. The limits are in the README ("Limits").
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from journeyman.api.errors import error_response
from journeyman.documents import MAX_DOCUMENT_BYTES

KIB = 1024
MIB = 1024 * KIB
DEFAULT = 1 * MIB  # one event, one contact, one list: a few KiB in practice
DOCUMENT = MAX_DOCUMENT_BYTES + 64 * KIB  # a workflow document and what comes with it
LIMITS: Mapping[str, int] = {
    "/v3/events/batch": 8 * MIB,  # up to 1000 events (events.MAX_BATCH)
    "/v3/contacts/batch": 8 * MIB,
    "/v3/contacts/import": 16 * MIB,  # up to 50,000 rows (imports.MAX_ROWS)
    "/api/v1/workflows": DOCUMENT,
    "/api/v1/workflows/validate": DOCUMENT,
    "/api/v1/workflows/simulate": DOCUMENT,
    "/api/v1/preview/email": DOCUMENT,  # an email's HTML with the document's templates
}


def limit_of(path: str) -> int:
    """The most bytes a request body to ``path`` may have."""
    if path.startswith("/api/v1/workflows/") and path.endswith("/simulate"):
        return DOCUMENT
    if path.startswith("/api/v1/drafts/"):
        return DOCUMENT
    return LIMITS.get(path, DEFAULT)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` while the route reads the body: an HTTPException, so that
    FastAPI passes it on (it turns other errors while reading into a 400) to the handler
    that answers it (``errors.install``)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit))


def too_large(limit: int) -> str:
    return f"the request body is over {limit:,} bytes, this route's limit"


class BodyLimit:
    """``app`` with each request body held to its route's limit (module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_of(scope["path"])
        announced = _content_length(scope)
        if announced is not None and announced > limit:
            await error_response("request_too_large", too_large(limit))(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None
