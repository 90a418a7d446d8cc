"""Brevo's error bodies, ``{"code": ..., "message": ...}``, and the only place where an error
becomes an HTTP status.

Routes raise :class:`ApiError` subclasses or Journeyman's own errors
(:class:`journeyman.errors.InvalidInput` -> ``invalid_parameter``,
:class:`journeyman.errors.Duplicate` -> ``duplicate_parameter``,
:class:`journeyman.errors.InvalidWorkflow` -> ``invalid_workflow`` with its problems,
:class:`journeyman.errors.NotFound` -> ``document_not_found``); request bodies and
parameters FastAPI refuses become ``missing_parameter`` / ``invalid_parameter`` naming the
field. A path under ``/v3`` that no route takes is a Brevo route Journeyman does not
implement: 501 ``not_implemented`` naming the method and path (a 404 is kept for missing
objects of the routes that exist).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.routing import Match

from journeyman.errors import Duplicate, InvalidInput, InvalidWorkflow, NotFound

logger = logging.getLogger(__name__)

STATUS: Mapping[str, int] = {
    "invalid_parameter": 400,
    "missing_parameter": 400,
    "duplicate_parameter": 400,
    "unauthorized": 401,
    "invalid_workflow": 422,
    "document_not_found": 404,
    "method_not_allowed": 405,
    "request_too_large": 413,
    "internal_error": 500,
    "not_implemented": 501,
}
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_CODE_OF_STATUS = {
    404: "document_not_found",
    405: "method_not_allowed",
    401: "unauthorized",
    413: "request_too_large",
}


class ErrorBody(BaseModel):
    """Brevo's error answer."""

    code: str
    message: str


class ProblemBody(BaseModel):
    """One thing wrong with a workflow document: the step id and field path, and what."""

    step: str | None
    field: str | None
    message: str
    code: str | None = Field(
        default=None, description="the kind of problem, stable (pydantic's error type or ours)"
    )


class InvalidWorkflowBody(ErrorBody):
    """A workflow document refused (``/api/v1``): every problem found, not only the first."""

    problems: list[ProblemBody]


class ApiError(Exception):
    """An answer other than success, in Brevo's terms."""

    code: ClassVar[str] = "invalid_parameter"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidParameter(ApiError):
    code = "invalid_parameter"


class MissingParameter(ApiError):
    code = "missing_parameter"


class DuplicateParameter(ApiError):
    code = "duplicate_parameter"


class DocumentNotFound(ApiError):
    code = "document_not_found"


class Unauthorized(ApiError):
    code = "unauthorized"


class NotImplementedRoute(ApiError):
    """A Brevo v3 route (or a parameter of one) Journeyman does not implement: 501, so that
    a client learns it from the answer instead of acting on a wrong one."""

    code = "not_implemented"


def not_implemented(method: str, path: str) -> NotImplementedRoute:
    return NotImplementedRoute(
        f"{method} {path} is not implemented by Journeyman (see the README's compatibility table)"
    )


def error_response(code: str, message: str) -> JSONResponse:
    return JSONResponse(
        ErrorBody(code=code, message=message).model_dump(), status_code=STATUS[code]
    )


# What each route may answer besides success, for the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "invalid, missing or duplicate parameter"},
    401: {"model": ErrorBody, "description": "no valid API key"},
    404: {"model": ErrorBody, "description": "document not found"},
    413: {"model": ErrorBody, "description": "request body over the route's limit (README)"},
}


def install(app: FastAPI) -> None:
    """Answer every error with Brevo's body and the status its code maps to, and say so in
    the OpenAPI document."""
    _document_400_not_422(app)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(InvalidWorkflow, _invalid_workflow)
    app.add_exception_handler(InvalidInput, _invalid_input)
    app.add_exception_handler(Duplicate, _duplicate)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def _document_400_not_422(app: FastAPI) -> None:
    """FastAPI documents a 422 for every operation with parameters; its request validation
    errors are answered as 400 (below), which ERROR_RESPONSES documents. A 422 a route
    declares itself (a refused workflow document) is kept."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = app.openapi_schema
        if document is None:
            document = generate()  # which keeps it in app.openapi_schema
            for item in document.get("paths", {}).values():
                for operation in item.values():
                    responses = operation.get("responses", {})
                    if "HTTPValidationError" in str(responses.get("422", "")):
                        del responses["422"]  # FastAPI's own; a declared 422 stays
            schemas = document.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.code, exc.message)


async def _invalid_input(_request: Request, exc: Exception) -> JSONResponse:
    return error_response("invalid_parameter", str(exc))


async def _duplicate(_request: Request, exc: Exception) -> JSONResponse:
    return error_response("duplicate_parameter", str(exc))


async def _invalid_workflow(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidWorkflow)
    body = InvalidWorkflowBody(
        code="invalid_workflow",
        message=str(exc),
        problems=[
            ProblemBody(step=p.step, field=p.field, message=p.message, code=p.code)
            for p in exc.problems
        ],
    )
    return JSONResponse(body.model_dump(), status_code=STATUS["invalid_workflow"])


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return error_response("document_not_found", str(exc))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems: Sequence[Mapping[str, Any]] = exc.errors()
    first = problems[0] if problems else {"type": "", "loc": (), "msg": "invalid request"}
    if first.get("type") == "json_invalid":  # its loc is a character offset, not a field
        context: Any = first.get("ctx") or {}
        reason = context.get("error", "")
        return error_response("invalid_parameter", f"the body is not valid JSON: {reason}")
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    code = "missing_parameter" if first.get("type") == "missing" else "invalid_parameter"
    message = f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    if code == "invalid_parameter" and "input" in first and where:
        message += f" (got {first['input']!r:.100})"
    return error_response(code, message)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and request.url.path.startswith("/v3/"):
        # No route took the path: under /v3 a Brevo route Journeyman lacks (a missing
        # object of an implemented route is a NotFound, answered by _not_found).
        missing = not_implemented(request.method, request.url.path)
        return error_response(missing.code, missing.message)
    code = _CODE_OF_STATUS.get(exc.status_code, "invalid_parameter")
    response = error_response(code, str(exc.detail))
    response.status_code = exc.status_code
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:
        response.headers["Allow"] = ", ".join(_allowed_methods(request))
    return response


def _allowed_methods(request: Request) -> list[str]:
    """Every method of the path (RFC 9110's Allow); Starlette names those of the first route
    of the path only, and GET and POST /v3/events are two routes."""
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.routes
        )
    ]


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    return unexpected_error(request.url.path, exc)


def unexpected_error(path: str, exc: Exception) -> JSONResponse:
    """An error nobody expected, logged with its traceback; the client learns only that the
    server failed."""
    logger.error(
        "request failed",
        exc_info=exc,
        extra={"action": "api_request_failed", "path": path},
    )
    return error_response("internal_error", "the server failed; see its log")
