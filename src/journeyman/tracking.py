"""What tracking does to a rendered email: links rewritten through the tracking server, an
open pixel and an unsubscribe footer at the end of the body. Pure functions over HTML text.

Links are found with the standard library's HTML parser, not a regular expression: it knows
where a tag ends whatever the quoting, skips comments, ``<script>`` and ``<style>``, and
decodes character references in attribute values (``&amp;`` in an ``href`` is ``&`` in the
address the reader's browser would open). Only the ``<a>`` and ``<area>`` tags whose link is
rewritten change: they are written again from their parsed attributes; every other byte of
the email stays as the template rendered it. Links inside conditional comments
(``<!--[if mso]>``) are left alone, as the parser sees a comment there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from html.parser import HTMLParser

LINK_TAGS = frozenset({"a", "area"})
_HREF = re.compile(r"href", re.IGNORECASE)
_TRACKED_SCHEMES = ("http://", "https://")

PIXEL = (
    '<img src="{}" width="1" height="1" alt="" '
    'style="display:block;width:1px;height:1px;border:0;margin:0;padding:0">'
)
FOOTER = (
    '<p style="font-size:12px;line-height:1.5;color:#888888;text-align:center">'
    'No longer interested? <a href="{}" style="color:#888888">Unsubscribe</a></p>'
)


def rewrite_links(html: str, target: Callable[[str], str | None]) -> str:
    """``html`` with the ``href`` of every ``http(s)`` link replaced by ``target(address)``
    (None keeps the link as it is); ``mailto:``, ``tel:``, ``#anchors`` and relative links
    are never offered. Addresses are given decoded and without surrounding blanks."""
    if _HREF.search(html) is None:
        return html
    finder = _LinkFinder()
    finder.feed(html)
    finder.close()
    if not finder.found:
        return html
    starts = _line_starts(html)
    parts: list[str] = []
    done = 0
    for (line, column), raw, tag, attrs, closed in finder.found:
        at = starts[line - 1] + column
        if at < done or html[at : at + len(raw)] != raw:
            continue  # not where the parser said: leave the tag untouched
        changed = False
        new_attrs: list[tuple[str, str | None]] = []
        for name, value in attrs:
            if name == "href" and value is not None and not changed:
                address = value.strip()
                if address.lower().startswith(_TRACKED_SCHEMES):
                    replacement = target(address)
                    if replacement is not None:
                        value, changed = replacement, True
            new_attrs.append((name, value))
        if changed:
            parts += (html[done:at], _start_tag(tag, new_attrs, closed))
            done = at + len(raw)
    parts.append(html[done:])
    return "".join(parts)


def append_to_body(html: str, block: str) -> str:
    """``block`` at the end of the body: before ``</body>`` when there is one, else last."""
    at = html.lower().rfind("</body")
    if at < 0:
        return html + block
    return html[:at] + block + html[at:]


def pixel(url: str) -> str:
    return PIXEL.format(escape(url, quote=True))


def footer(unsubscribe_url: str) -> str:
    return FOOTER.format(escape(unsubscribe_url, quote=True))


# ((line, column), raw tag text, tag name, attributes, self-closing)
_Found = tuple[tuple[int, int], str, str, list[tuple[str, str | None]], bool]


class _LinkFinder(HTMLParser):
    """Collects the start tags of links that have an ``href``, where they are in the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[_Found] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._link(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._link(tag, attrs, closed=True)

    def _link(self, tag: str, attrs: list[tuple[str, str | None]], *, closed: bool) -> None:
        if tag in LINK_TAGS and any(name == "href" for name, _ in attrs):
            raw = self.get_starttag_text()
            if raw is not None:
                self.found.append((self.getpos(), raw, tag, attrs, closed))


def _line_starts(text: str) -> list[int]:
    starts = [0]
    at = text.find("\n")
    while at >= 0:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    return starts


def _start_tag(tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> str:
    written = "".join(
        f" {name}" if value is None else f' {name}="{escape(value, quote=True)}"'
        for name, value in attrs
    )
    return f"<{tag}{written}{' /' if closed else ''}>"
