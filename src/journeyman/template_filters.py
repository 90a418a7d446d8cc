"""Jinja's filters that can build a large value from small arguments, checked first.

Each check sees the filter's arguments without Jinja's context argument and refuses a result
over :data:`template_limits.MAX_OUTPUT` before the filter builds it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from jinja2.filters import FILTERS

from journeyman.template_limits import (
    MAX_RANGE,
    TemplateLimitExceeded,
    check_percent,
    refuse_size,
    replaced_size,
    weight,
)

MAX_JSON_INDENT = 16


def _center(value: Any, width: Any = 80, *_: Any) -> None:
    if isinstance(width, int):
        refuse_size(len(str(value)) + width, "center")


def _indent(value: Any, width: Any = 4, *_: Any, **__: Any) -> None:
    text = str(value)
    step = width if isinstance(width, int) else len(str(width))
    refuse_size(len(text) + (text.count("\n") + 1) * step, "indent")


def _wordwrap(value: Any, width: Any = 79, _long: Any = True, wrap: Any = None, *_: Any) -> None:
    text, joint = str(value), len(str(wrap)) if wrap is not None else 1
    lines = len(text) // max(width if isinstance(width, int) else 1, 1) + text.count("\n") + 1
    refuse_size(len(text) + lines * joint, "wordwrap")


def _format(value: Any, *args: Any, **kwargs: Any) -> None:
    check_percent(str(value), kwargs or args)


def _replace(value: Any, old: Any, new: Any, *_: Any) -> None:
    refuse_size(replaced_size(str(value), old, new), "replace")


def _batch(value: Any, linecount: Any, *_: Any) -> None:
    if isinstance(linecount, int):
        refuse_size(linecount, "batch")


def _slice(value: Any, slices: Any, *_: Any) -> None:
    if isinstance(slices, int) and slices > MAX_RANGE:
        raise TemplateLimitExceeded(f"slice into more than {MAX_RANGE} parts")


def _tojson(value: Any, indent: Any = None) -> None:
    if isinstance(indent, int) and indent > MAX_JSON_INDENT:
        raise TemplateLimitExceeded(f"tojson with an indent over {MAX_JSON_INDENT}")


CHECKS: dict[str, Callable[..., None]] = {
    "center": _center,
    "indent": _indent,
    "wordwrap": _wordwrap,
    "format": _format,
    "replace": _replace,
    "batch": _batch,
    "slice": _slice,
    "tojson": _tojson,
}


def _guarded(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    check = CHECKS[name]
    passes = hasattr(original, "jinja_pass_arg")  # Jinja's context comes first

    @functools.wraps(original)  # keeps ``jinja_pass_arg``
    def guarded(*args: Any, **kwargs: Any) -> Any:
        check(*args[passes:], **kwargs)
        return original(*args, **kwargs)

    return guarded


def _join(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def join(eval_ctx: Any, value: Any, d: Any = "", attribute: Any = None) -> Any:
        items = list(value)  # read once: it may be a generator
        refuse_size(sum(weight(i) for i in items) + len(str(d)) * len(items), "join")
        return original(eval_ctx, items, d, attribute)

    return join


def guarded_filters() -> dict[str, Callable[..., Any]]:
    """Jinja's filters, the amplifying ones checked."""
    filters = dict(FILTERS)
    for name in CHECKS:
        filters[name] = _guarded(name, FILTERS[name])
    filters["join"] = _join(FILTERS["join"])
    return filters
