"""Sandboxed Jinja rendering for subjects and bodies; compiled once per template text."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_SEPARATOR = "\x1e"  # ASCII record separator: splits the parts of one combined render


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, strict about internals: ``ChainableUndefined`` (missing values render
    empty, as users expect) would otherwise swallow the sandbox's refusal, silently."""

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


def _finalize(value: Any) -> Any:
    # A value may not carry the separator that splits a combined render into its parts.
    return value.replace(_SEPARATOR, "") if isinstance(value, str) else value


_html_env = _Sandbox(autoescape=True, undefined=ChainableUndefined, finalize=_finalize)
_text_env = _Sandbox(autoescape=False, undefined=ChainableUndefined, finalize=_finalize)


class TemplateError(ValueError):
    """A template does not compile or does not render."""


@lru_cache(maxsize=4096)
def compile_template(source: str, *, html: bool) -> Template:
    env = _html_env if html else _text_env
    try:
        return env.from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"line {exc.lineno}: {exc.message}") from None


def check_template(source: str, *, html: bool) -> str | None:
    """The syntax error of a template, or None when it compiles."""
    try:
        compile_template(source, html=html)
    except TemplateError as exc:
        return str(exc)
    return None


def render(source: str, context: Mapping[str, Any], *, html: bool) -> str:
    try:
        return compile_template(source, html=html).render(context)
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
            rendered = "".join(template.root_render_func(template.new_context(dict(context))))
        except Exception as exc:  # a sandbox violation or a failing filter in user content
            raise TemplateError(f"{type(exc).__name__}: {exc}") from None
        parts = rendered.split(_SEPARATOR)
        if len(parts) != 4:
            raise TemplateError("the template produced a record separator (\\x1e)")
        subject, html, text, sender = parts
        return subject.strip(), html, text if self._has_text else None, sender.strip()


def _raw(source: str) -> str:
    return "{% autoescape false %}" + source + "{% endautoescape %}"
