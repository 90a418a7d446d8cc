"""The web UI: workflows drawn as graphs with live per-step counts, contact timelines, the
outbox with each message's rendered content, conversion reports.

Static files only (``static/``): the page is a client of the published ``/api/v1`` and
``/v3`` routes, with the API key the user enters kept in the tab's ``sessionStorage`` and
sent as the ``api-key`` header. The files hold no data, so they need no key themselves.

Every UI response carries a Content-Security-Policy: scripts only from this server (the page
builds its DOM with ``textContent``, never ``innerHTML``), and images only as ``data:`` URLs.
An email preview is a ``srcdoc`` frame, which inherits that policy: its open pixel and remote
images are not loaded, so looking at a message in the outbox records no open.

The workflow builder (``/ui/builder/``) is a React application built from ``ui/`` into
``builder/`` (``make ui``; a wheel or sdist builds it, so installing needs no Node.js). It is
served with the same policy: its bundle is a script file, React sets text, never HTML.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

PATH = "/ui"
BUILDER = f"{PATH}/builder"

POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; img-src data:; "
    "style-src 'self' 'unsafe-inline'; frame-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class _Files(StaticFiles):
    """The UI's files, each with the policy above."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(HEADERS)
        return response


def mount(api: FastAPI) -> None:
    """Serve the UI under ``/ui/`` and the builder under ``/ui/builder/``; ``/`` leads to
    the UI."""
    built = Path(__file__).parent / "builder" / "index.html"
    if built.is_file():
        api.mount(BUILDER, _Files(packages=[("journeyman.web", "builder")], html=True))
    else:

        @api.get(f"{BUILDER}/", include_in_schema=False)
        def not_built() -> PlainTextResponse:
            message = "The builder is not built: run `make ui` (needs Node.js) in the source tree."
            return PlainTextResponse(message, status_code=503, headers=HEADERS)

    api.mount(PATH, _Files(packages=[("journeyman.web", "static")], html=True), name="ui")

    @api.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse(f"{PATH}/")
