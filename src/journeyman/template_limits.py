"""The limits of one template render, and the checks that keep a render inside them.

A template is user content run for every contact. Without limits ``{{ 'a' * 10**9 }}``
allocates gigabytes in one operation and nested loops never end, and since a run is retried
after a restart, one such workflow would stall every workflow on the engine. So a render has
a deadline, a number of loop iterations and an output size; and every operation that can
build a large value in one go (``*``, ``**``, ``+``, ``%``, ``~``, padding and joining
filters and string methods) is checked *before* it builds it. Real emails stay far below
every limit: the example's 40 KB email uses none of them up.

Errors: :class:`TemplateLimitExceeded` fails the run's step with the reason;
:class:`TemplateDeferred` (the step's batch has used up its render time) makes the run wait
and try again, so that one slow template never holds up the other runs of a pass.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

MAX_RENDER_SECONDS = 0.5  # one render (a 40 KB email takes about 0.2 ms)
MAX_LOOP_ITERATIONS = 100_000  # items drawn by all the ``for`` loops of one render
MAX_OUTPUT = 1_000_000  # characters a render produces beyond its literal text; also the
# largest string, list or concatenation an operator or filter may build
MAX_RANGE = 10_000  # numbers in one ``range()``
MAX_INTEGER_BITS = 4_096  # ``**`` and ``*`` on integers
MAX_LIPSUM = 100  # paragraphs of ``lipsum()``; words per paragraph at most 10 times that
CHECK_SECONDS = 0.25  # validation's dry render of one template
BATCH_SECONDS = 2.0  # the render time of one step's batch; its remaining runs wait
DEFER_SECONDS = 60  # how long a run whose batch ran out of render time waits


class TemplateError(ValueError):
    """A template does not compile or does not render."""


class TemplateLimitExceeded(TemplateError):
    """A render went over one of the limits: the run's step fails with this reason."""


class TemplateDeferred(TemplateError):
    """The step's batch used up its render time: the run waits and tries again."""


class Budget:
    """What is left of one render's limits."""

    __slots__ = ("deadline", "iterations", "output", "seconds", "shared")

    def __init__(self, deadline: float, seconds: float, *, shared: bool) -> None:
        self.deadline = deadline
        self.seconds = seconds
        self.shared = shared  # the deadline is the batch's, not this render's own
        self.iterations = MAX_LOOP_ITERATIONS
        self.output = MAX_OUTPUT

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            if self.shared:
                raise TemplateDeferred(
                    f"the step's batch used its {BATCH_SECONDS:g} s of template time"
                )
            raise TemplateLimitExceeded(f"template took longer than {self.seconds:g} s")

    def loop(self, chars: int) -> None:
        """One loop iteration, whose body holds ``chars`` characters of literal text."""
        self.iterations -= 1
        if self.iterations < 0:
            raise TemplateLimitExceeded(f"template exceeded {MAX_LOOP_ITERATIONS} loop iterations")
        self.charge(chars)
        self.tick()

    def charge(self, chars: int) -> None:
        self.output -= chars
        if self.output < 0:
            raise TemplateLimitExceeded(f"template output exceeded {MAX_OUTPUT} characters")


_current: ContextVar[Budget | None] = ContextVar("template_budget", default=None)
_batch_deadline: ContextVar[float | None] = ContextVar("template_batch", default=None)


def current() -> Budget:
    budget = _current.get()
    if budget is None:  # compiled code run outside ``rendering()``: limits all the same
        budget = Budget(time.monotonic() + MAX_RENDER_SECONDS, MAX_RENDER_SECONDS, shared=False)
        _current.set(budget)
    return budget


@contextmanager
def rendering(seconds: float | None = None) -> Iterator[Budget]:
    """A fresh budget for one render (``MAX_RENDER_SECONDS`` unless given), inside what is
    left of the batch's."""
    seconds = MAX_RENDER_SECONDS if seconds is None else seconds
    now = time.monotonic()
    own, batch = now + seconds, _batch_deadline.get()
    if batch is not None and now >= batch:
        raise TemplateDeferred(f"the step's batch used its {BATCH_SECONDS:g} s of template time")
    shared = batch is not None and batch < own
    budget = Budget(batch if shared and batch is not None else own, seconds, shared=shared)
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


@contextmanager
def batch_budget(seconds: float = BATCH_SECONDS) -> Iterator[None]:
    """Bound the render time of one step's batch (the engine wraps every step in it)."""
    token = _batch_deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _batch_deadline.reset(token)


def weight(value: Any, limit: int = MAX_OUTPUT) -> int:
    """About the characters ``value`` renders as; counting stops past ``limit`` (a list
    holding itself many times over is cheap in memory but not to count)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, int | float | bool) or value is None:
        return 8 if not isinstance(value, int) else value.bit_length() // 3 + 2
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list | tuple):
        total = 2
        for item in value:
            total += weight(item, limit - total) + 2
            if total > limit:
                break
        return total
    return 16


def refuse_size(size: int, what: str) -> None:
    if size > MAX_OUTPUT:
        raise TemplateLimitExceeded(f"{what} would be longer than {MAX_OUTPUT} characters")


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Before ``left operator right``: refuse a value over the limits."""
    if operator == "*":
        _check_repeat(left, right)
        _check_repeat(right, left)
    elif operator == "**":
        numbers = isinstance(left, int) and isinstance(right, int) and right > 0
        if numbers and abs(left) > 1 and left.bit_length() * right > MAX_INTEGER_BITS:
            raise TemplateLimitExceeded(f"** would give more than {MAX_INTEGER_BITS} bits")
    elif operator == "+":
        if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            refuse_size(weight(left) + weight(right), "+")
    elif operator == "%" and isinstance(left, str):
        check_percent(left, right)


def _check_repeat(sequence: Any, times: Any) -> None:
    if not isinstance(times, int):
        return
    if isinstance(sequence, str | list | tuple):
        if times > 0:
            refuse_size(weight(sequence) * times, "*")
    elif isinstance(sequence, int) and sequence.bit_length() + times.bit_length() > (
        MAX_INTEGER_BITS
    ):
        raise TemplateLimitExceeded(f"* would give more than {MAX_INTEGER_BITS} bits")


_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def check_percent(template: str, values: Any) -> None:
    """Before ``template % values`` (and the ``format`` filter)."""
    widths, fields = _percent_widths(template)
    if isinstance(values, dict):
        values = list(values.values())
    if isinstance(values, tuple | list):
        largest = max((weight(v) for v in values), default=0)
    else:
        largest = weight(values)
    refuse_size(len(template) + widths + fields * largest, "% formatting")


@lru_cache(maxsize=1024)
def _percent_widths(template: str) -> tuple[int, int]:
    """The widths and precisions of a %-template added up, and its number of fields."""
    widths, found = 0, _PERCENT.findall(template)
    for width, precision in found:
        for number in (width, precision):
            if number == "*":
                raise TemplateLimitExceeded("% with a * width is not allowed in templates")
            widths += int(number or 0)
    refuse_size(widths, "% formatting")
    return widths, len(found)


def check_format(template: str, args: Iterable[Any]) -> None:
    """Before ``template.format(...)``: field widths, precisions and the number of fields."""
    widths = 0
    for _, field, spec, _ in string.Formatter().parse(template):
        if field is not None and spec and "{" in spec:
            raise TemplateLimitExceeded("nested format fields are not allowed in templates")
        widths += sum(int(n) for n in re.findall(r"\d+", spec or ""))
    refuse_size(widths, "format()")
    largest = max((weight(v) for v in args), default=0)
    refuse_size(len(template) + widths + template.count("{") * largest, "format()")


def check_call(function: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Before a string method is called from a template; the arguments to call it with (an
    iterable to join is read once, here)."""
    wrapped, owner = function, getattr(function, "__self__", None)
    if owner is None:  # a function, or the sandbox's wrapper of str.format
        wrapped = getattr(function, "__wrapped__", None)
        owner = getattr(wrapped, "__self__", None)
    if not isinstance(owner, str):
        return args
    name = getattr(wrapped, "__name__", "")
    if name in ("center", "ljust", "rjust", "zfill") and args and isinstance(args[0], int):
        refuse_size(args[0], name)
    elif name == "expandtabs":
        tab = args[0] if args and isinstance(args[0], int) else 8
        refuse_size(len(owner) + owner.count("\t") * tab, name)
    elif name == "replace" and len(args) >= 2:
        refuse_size(replaced_size(owner, args[0], args[1]), name)
    elif name == "join" and args:
        items = list(args[0])
        refuse_size(sum(weight(i) for i in items) + len(owner) * len(items), name)
        return (items, *args[1:])
    elif name == "translate" and args and isinstance(args[0], dict):
        largest = max((weight(v) for v in args[0].values()), default=0)
        refuse_size(len(owner) * largest, name)
    elif name in ("format", "format_map"):
        values = list(args[0].values()) if name == "format_map" and args else list(args)
        values += kwargs.values()
        check_format(owner, values)
    return args


def replaced_size(text: str, old: Any, new: Any) -> int:
    if not isinstance(old, str) or not isinstance(new, str):
        return len(text)
    found = text.count(old) if old else len(text) + 1
    return len(text) + found * max(len(new) - len(old), 0)
