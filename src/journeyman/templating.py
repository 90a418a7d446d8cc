"""Sandboxed Jinja rendering for subjects and bodies; compiled once per template text."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_html_env = ImmutableSandboxedEnvironment(autoescape=True, undefined=ChainableUndefined)
_text_env = ImmutableSandboxedEnvironment(autoescape=False, undefined=ChainableUndefined)


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
    """

    def unique_code(prefix: str = "", length: int = 8) -> str:
        digest = hmac.new(secret, seed.encode(), hashlib.sha256).digest()
        body = base64.b32encode(digest).decode().rstrip("=")
        return f"{prefix}{body[: max(4, min(int(length), 32))]}"

    return unique_code
