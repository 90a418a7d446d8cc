"""Sandboxed Jinja rendering for subjects and bodies; compiled once per template text."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, nodes, pass_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum

from journeyman import template_limits as limits
from journeyman.template_filters import guarded_filters
from journeyman.template_limits import (
    DEFER_SECONDS,
    TemplateDeferred,
    TemplateError,
    TemplateLimitExceeded,
    batch_budget,
)

__all__ = [
    "DEFER_SECONDS",
    "MessageTemplate",
    "TemplateDeferred",
    "TemplateError",
    "TemplateLimitExceeded",
    "batch_budget",
    "check_limits",
    "check_template",
    "code_maker",
    "compile_template",
    "render",
]

_SEPARATOR = "\x1e"  # ASCII record separator: splits the parts of one combined render


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _CodeGenerator(CodeGenerator):
    """Jinja's, with the parts of ``a ~ b`` measured before they are joined."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        else:
            join = "markup_join" if frame.eval_ctx.autoescape else "str_join"
        self.write(f"{join}(environment.sized((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write(")))")


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, strict about internals and bounded (:mod:`template_limits`).

    ``ChainableUndefined`` (missing values render empty, as users expect) would otherwise
    swallow the sandbox's refusal, silently. Nothing is computed at compile time (no
    optimizer, intercepted operators, a finalize that needs the context), so compiling a
    template never runs it.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _CodeGenerator

    def __init__(self, **options: Any) -> None:
        super().__init__(optimized=False, **options)
        self.globals["range"] = _range
        self.globals["lipsum"] = _lipsum
        self.filters = guarded_filters()
        self.filters[_LOOP_FILTER] = _bounded_loop

    def getattr(self, obj: Any, attribute: str) -> Any:
        # ``contact.FIRSTNAME`` on a plain dict: the item, as the sandbox's own lookup would
        # find it after a failed (and costly) attribute lookup. dict's own attributes
        # (``items``...) still take the checked path.
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            if attribute in obj:
                return obj[attribute]
            return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        raise SecurityError(f"access to {attribute!r} of {type(obj).__name__} is not allowed")

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        limits.check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        limits.current().tick()  # a macro calling itself twice runs out of time, not forever
        args = limits.check_call(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def sized(self, parts: tuple[Any, ...]) -> tuple[Any, ...]:
        limits.refuse_size(sum(limits.weight(p) for p in parts), "~")
        return parts


_LOOP_FILTER = "bounded loop"  # not a name a template can write: it cannot replace it


def _bounded_loop(iterable: Any, chars: int) -> Iterator[Any]:
    """Every ``for`` loop draws its items through here (see :func:`_bounded`)."""
    budget = limits.current()
    for item in iterable:
        budget.loop(chars)
        yield item


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > limits.MAX_RANGE:
        raise TemplateLimitExceeded(f"range() of more than {limits.MAX_RANGE} numbers")
    return numbers


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    if n > limits.MAX_LIPSUM or max > 10 * limits.MAX_LIPSUM:
        raise TemplateLimitExceeded(f"lipsum() of more than {limits.MAX_LIPSUM} paragraphs")
    return str(generate_lorem_ipsum(n, html, min, max))


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    # Every value a template outputs: counted against the output limit. A value may not
    # carry the separator that splits a combined render into its parts.
    budget = limits.current()
    if isinstance(value, str):
        budget.output -= len(value)
        value = value.replace(_SEPARATOR, "")
    else:
        budget.output -= limits.weight(value)
    if budget.output < 0:
        budget.charge(0)  # raises
    return value


_html_env = _Sandbox(autoescape=True, undefined=ChainableUndefined, finalize=_finalize)
_text_env = _Sandbox(autoescape=False, undefined=ChainableUndefined, finalize=_finalize)


@lru_cache(maxsize=4096)
def compile_template(source: str, *, html: bool) -> Template:
    env = _html_env if html else _text_env
    try:
        return env.from_string(_bounded(env.parse(source)))
    except TemplateSyntaxError as exc:
        raise TemplateError(f"line {exc.lineno}: {exc.message}") from None
    except ValueError as exc:  # a number literal too long to read
        raise TemplateError(str(exc)) from None


def _bounded(template: nodes.Template) -> nodes.Template:
    """Every ``for`` loop draws its items through the filter :func:`_bounded_loop`, which
    counts them with the literal text of the loop's body (a filter, as it is cheaper to
    call than a global, under a name no template can write)."""
    for loop in template.find_all(nodes.For):
        if loop.recursive:  # the recursion would draw its items around the counter
            raise TemplateError(f"line {loop.lineno}: recursive loops are not allowed")
        chars = sum(len(d.data) for n in loop.body for d in n.find_all(nodes.TemplateData))
        loop.iter = nodes.Filter(
            loop.iter, _LOOP_FILTER, [nodes.Const(chars)], [], None, None, lineno=loop.lineno
        )
    return template


def check_template(source: str, *, html: bool) -> str | None:
    """The syntax error of a template, or None when it compiles."""
    try:
        compile_template(source, html=html)
    except TemplateError as exc:
        return str(exc)
    return None


@lru_cache(maxsize=4096)
def check_limits(source: str, *, html: bool) -> str | None:
    """Why a template goes over a limit whatever the contact, or None.

    A dry render for a contact without data under the limits (and a shorter deadline), at
    apply time: ``{{ 'a' * 10**9 }}`` or nested ``range`` loops are refused there. Other
    errors are left to the render (they may depend on the data).
    """
    try:
        template = compile_template(source, html=html)
        with limits.rendering(limits.CHECK_SECONDS):
            "".join(template.root_render_func(template.new_context(_dry_context())))
    except TemplateLimitExceeded as exc:
        return str(exc)
    except Exception:  # not a limit: the render decides, with real data
        return None
    return None


def _dry_context() -> dict[str, Any]:
    return {
        "contact": {},
        "event": {},
        "webhook": {},
        "workflow": {"key": ""},
        "step": "",
        "unique_code": code_maker(b"check", "check"),
        "unsubscribe_url": "",
    }


def render(source: str, context: Mapping[str, Any], *, html: bool) -> str:
    template = compile_template(source, html=html)
    try:
        with limits.rendering():
            return "".join(template.root_render_func(template.new_context(dict(context))))
    except TemplateError:
        raise
    except Exception as exc:  # a sandbox violation or a failing filter in user content
        raise TemplateError(f"{type(exc).__name__}: {exc}") from None


def code_maker(secret: bytes, seed: str) -> Callable[..., str]:
    """``unique_code(prefix, length)`` for templates: the same code for the same run and step.

    A replay renders the same code; without the secret nobody can guess another contact's.
    (A keyed BLAKE2b is a MAC, and several times cheaper than HMAC-SHA256 per call.)
    """
    body: list[str] = []

    def unique_code(prefix: str = "", length: int = 8) -> str:
        if not body:
            digest = hashlib.blake2b(seed.encode(), key=secret[:64], digest_size=16)
            body.append(digest.hexdigest().upper())
        return f"{prefix}{body[0][: max(4, min(int(length), 32))]}"

    return unique_code


class MessageTemplate:
    """Subject, HTML body, text body and sender of a message, compiled into one template.

    One render per message instead of four: the text parts sit in ``autoescape false``
    blocks, the HTML part is escaped.
    """

    def __init__(self, subject: str, html: str, text: str | None, sender: str) -> None:
        self._has_text = text is not None
        parts = [_raw(subject), html, _raw(text or ""), _raw(sender)]
        for part in parts:
            if _SEPARATOR in part:
                raise TemplateError("templates may not contain the ASCII record separator")
        self._template = compile_template(_SEPARATOR.join(parts), html=True)

    def render(self, context: Mapping[str, Any]) -> tuple[str, str, str | None, str]:
        """(subject, html, text, sender)."""
        template = self._template
        try:
            with limits.rendering():
                rendered = "".join(template.root_render_func(template.new_context(dict(context))))
        except TemplateError:
            raise
        except Exception as exc:  # a sandbox violation or a failing filter in user content
            raise TemplateError(f"{type(exc).__name__}: {exc}") from None
        parts = rendered.split(_SEPARATOR)
        if len(parts) != 4:
            raise TemplateError("the template produced a record separator (\\x1e)")
        subject, html, text, sender = parts
        return subject.strip(), html, text if self._has_text else None, sender.strip()


def _raw(source: str) -> str:
    return "{% autoescape false %}" + source + "{% endautoescape %}"
