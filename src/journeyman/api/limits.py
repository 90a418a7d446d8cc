"""What the database can hold, checked where requests arrive so that a value it cannot hold
is a 400 naming the field, not a driver error (500).

The limits are the store's columns: list ids are INTEGER, contact and event ids BIGINT (as in
Brevo's int64); PostgreSQL text refuses NUL characters, UTF-8 cannot encode unpaired
surrogates, JSON columns hold 64-bit integers and finite numbers only (orjson writes them).
Schemathesis (tests/api/test_api_schema_fuzz.py) found the ids and NUL characters, probes of
the same edges the rest (docs/architecture.md, "API input").
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Path, Request
from pydantic import Field

from journeyman.api.errors import InvalidParameter

MAX_INTEGER = 2**31 - 1  # INTEGER columns (list and folder ids)
MAX_BIGINT = 2**63 - 1  # BIGINT columns (contact, event ids) and integers in JSON
MAX_DEPTH = 32  # nesting of JSON objects and arrays in properties and attributes
# Bytes (UTF-8) of one text value: a property, an attribute, a list name. Brevo caps a whole
# event's properties at 50 KB, Klaviyo any one field at 100 kB (README, "Limits").
MAX_TEXT_BYTES = 64 * 1024
_SHORT_TEXT = MAX_TEXT_BYTES // 4  # characters: no shorter text can be over the limit
EMAIL_LENGTH = 320
NAME_LENGTH = 200  # list names, ext_id, folder

ContactId = Annotated[int, Field(ge=1, le=MAX_BIGINT, description="a contact id")]
ListId = Annotated[int, Field(ge=1, le=MAX_INTEGER, description="a list id")]
FolderId = Annotated[int, Field(ge=1, le=MAX_INTEGER, description="a folder id")]
FolderIdPath = Annotated[int, Path(ge=1, le=MAX_INTEGER, description="a folder id")]
ListIdPath = Annotated[int, Path(ge=1, le=MAX_INTEGER, description="a list id")]
MessageIdPath = Annotated[int, Path(ge=1, le=MAX_BIGINT, description="a message id")]

_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")
TEXT_RULE = "text must not contain NUL characters or unpaired surrogates"


def problem(
    value: Any, *, max_text: int | None = MAX_TEXT_BYTES, max_depth: int = MAX_DEPTH
) -> str | None:
    """What in ``value`` (a parsed JSON document) the database cannot hold, or is over a
    limit, with its path: ``"attributes.NAME: ..."``; None when all of it fits. Texts of
    more than ``max_text`` bytes are refused (None: no limit but the body's), and nesting
    past ``max_depth`` levels (a workflow document may nest deeper than properties).

    Every request body passes through here, so the walk builds no path until it has found
    something (a batch of events is most of the work)."""
    short = _SHORT_TEXT if max_text is not None else None
    found = _unstorable(value, MAX_DEPTH - max_depth, short, max_text)
    if found is None:
        return None
    where, reason = "", found[1]
    for part in reversed(found[0]):
        where = (
            f"{where}[{part}]" if isinstance(part, int) else (f"{where}.{part}" if where else part)
        )
    return f"{where or 'body'}: {reason}"


_Found = tuple[list[str | int], str]  # the path, innermost part first; the reason


def _unstorable(value: Any, depth: int, short: int | None, max_text: int | None) -> _Found | None:
    if isinstance(value, (dict, Mapping)):  # dict first: a check against Mapping is slower
        if depth >= MAX_DEPTH:
            return [], f"nested deeper than {MAX_DEPTH} levels"
        for key, item in value.items():
            name = key if type(key) is str else str(key)
            if not _fits(name):
                return [name], TEXT_RULE
            # The common values without a call (most of a batch of events is such values).
            kind = type(item)
            if kind is str:
                if (short is None or len(item) <= short) and _fits(item):
                    continue
            elif kind is float:
                if math.isfinite(item):
                    continue
            elif kind is int:
                if -MAX_BIGINT - 1 <= item <= MAX_BIGINT:
                    continue
            elif kind is bool or item is None:
                continue
            found = _unstorable(item, depth + 1, short, max_text)
            if found is not None:
                found[0].append(name)
                return found
    elif isinstance(value, list):
        if depth >= MAX_DEPTH:
            return [], f"nested deeper than {MAX_DEPTH} levels"
        for index, item in enumerate(value):
            found = _unstorable(item, depth + 1, short, max_text)
            if found is not None:
                found[0].append(index)
                return found
    elif isinstance(value, str):
        if not _fits(value):
            return [], TEXT_RULE
        if max_text is not None and len(value) > _SHORT_TEXT:
            size = len(value) if value.isascii() else len(value.encode("utf-8"))
            if size > max_text:
                return [], f"a text of {size:,} bytes, over the limit of {max_text:,}"
        return None
    elif isinstance(value, bool) or value is None:
        return None
    elif isinstance(value, int):
        if -MAX_BIGINT - 1 <= value <= MAX_BIGINT:
            return None
        return [], f"{value} is outside the 64-bit integer range"
    elif isinstance(value, float):
        return None if math.isfinite(value) else ([], "numbers must be finite")
    return None


def _fits(text: str) -> bool:
    """No NUL character and no unpaired surrogate; ``isascii`` is a flag of the string in
    CPython (no scan), and an ASCII string holds no surrogate."""
    return "\x00" not in text if text.isascii() else _UNSTORABLE_TEXT.search(text) is None


async def refuse_unstorable_parameters(request: Request) -> None:
    """A dependency of every route: path and query parameters the database cannot hold.
    (Async: a plain function would cost every request a hop to the thread pool.)"""
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        if isinstance(value, str) and _UNSTORABLE_TEXT.search(value):
            raise InvalidParameter(f"{name}: {TEXT_RULE}")
