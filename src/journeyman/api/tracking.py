"""What mail clients and readers hit, without an API key: the open pixel ``/t/o/{token}``,
tracked links ``/t/c/{token}`` and the unsubscribe page ``/unsubscribe/{token}`` (GET shows
it, POST unsubscribes: the page's button and RFC 8058 one-click alike).

Every token is signed (journeyman.links) with the current secret or one still in its grace
period after a rotation (journeyman.signing): one that does not verify gets a 404, records
nothing and redirects nowhere, so no one can forge an event or use the server as an open
redirect. A valid one records ``email_opened``, ``email_clicked`` (with ``url``) or
``email_unsubscribed`` (source ``tracking``), queued for the triggers like any event, so
workflows start and wake and conditions count as with any event; the properties name the
message (``message_key``, its ``workflow`` key and ``step``) for ``{message: {activity: ...}}``
and the entry points. Every pixel load is an open; a click on a message without an open yet
records the open first (``via: click``): the reader opened it with images blocked.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from journeyman import links, signing
from journeyman.api.wire import Journeyman
from journeyman.app import App
from journeyman.services import tracking

router = APIRouter(tags=["tracking"])

# The smallest transparent GIF (43 bytes).
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
NO_CACHE = {
    "Cache-Control": "no-store, no-cache, must-revalidate, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "the token is invalid (nothing recorded)"}
}


def _verified(app: App, purpose: str, token: str) -> tuple[int, str] | None:
    """The token's (contact id, message key) under any secret that verifies now."""
    return signing.verified(app.keys, lambda keys: links.verify(keys, purpose, token))


def _not_found() -> PlainTextResponse:
    return PlainTextResponse("Not found", status_code=404, headers=NO_CACHE)


@router.get(
    "/t/o/{token}",
    response_class=Response,
    responses={200: {"content": {"image/gif": {}}, "description": "a 1x1 GIF"}, **NOT_FOUND},
)
def open_pixel(token: str, app: Journeyman) -> Response:
    """The open pixel: records ``email_opened`` (every time: each is a real open; the
    statistics count the messages opened at least once)."""
    found = _verified(app, links.OPEN, token)
    if found is None:
        return _not_found()
    tracking.record(app, "email_opened", *found)
    return Response(PIXEL, media_type="image/gif", headers=NO_CACHE)


@router.get(
    "/t/c/{token}",
    response_class=RedirectResponse,
    status_code=302,
    responses={302: {"description": "to the link's address"}, **NOT_FOUND},
)
def tracked_link(token: str, app: Journeyman) -> Response:
    """A tracked link: records ``email_clicked`` with ``url`` (and ``email_opened`` first
    when the message has no open yet) and redirects there (only to the address signed into
    the token, which was in that email)."""
    found = signing.verified(app.keys, lambda keys: links.verify_link(keys, token))
    if found is None or not found[2].lower().startswith(("http://", "https://")):
        return _not_found()
    contact_id, message_key, url = found
    tracking.record(app, "email_clicked", contact_id, message_key, opens=True, url=url)
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;
color:#222}}button{{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}}</style>
</head><body><h1>{title}</h1>{body}</body></html>
"""


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=escape(title), body=body), status_code=status_code, headers=NO_CACHE
    )


def _invalid_link() -> HTMLResponse:
    return _page(
        "Link not valid",
        "<p>This unsubscribe link is not valid. Please use the link in the email.</p>",
        404,
    )


@router.get(
    "/unsubscribe/{token}",
    response_class=HTMLResponse,
    responses=NOT_FOUND,
)
def unsubscribe_page(token: str, app: Journeyman) -> HTMLResponse:
    """The confirmation page: a button that POSTs the one-click form. A GET changes nothing
    (link scanners and previews follow links)."""
    if _verified(app, links.UNSUBSCRIBE, token) is None:
        return _invalid_link()
    # No action: the form posts to this very address, behind any proxy path.
    form = (
        '<p>Do you want to stop receiving these emails?</p><form method="post">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return _page("Unsubscribe", form)


@router.post(
    "/unsubscribe/{token}",
    response_class=HTMLResponse,
    responses=NOT_FOUND,
)
def unsubscribe(token: str, app: Journeyman) -> HTMLResponse:
    """Unsubscribe (RFC 8058 one-click ``List-Unsubscribe=One-Click``, or the page's form):
    the contact is blocklisted for email and ``email_unsubscribed`` recorded; again is fine
    (already blocklisted: nothing more is recorded)."""
    found = _verified(app, links.UNSUBSCRIBE, token)
    if found is None:
        return _invalid_link()
    tracking.unsubscribe(app, *found)
    return _page("You are unsubscribed", "<p>You will no longer receive these emails.</p>")
