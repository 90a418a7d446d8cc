"""Turn an ``OutgoingEmail`` into a MIME message ready for SMTP.

The ``Date`` header is left to the transport, which stamps it at send time.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import Any

from journeyman.model.messages import OutgoingEmail

__all__ = ["build_mime", "envelope_address", "html_to_text"]

# Set by build_mime or by the transport: a custom header with one of these names would
# duplicate or contradict them.
_RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "subject",
        "message-id",
        "date",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)
_SKIPPED_TAGS = frozenset({"head", "script", "style", "title"})
_BLOCK_TAGS = frozenset(
    {"br", "div", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "p", "table", "tr"}
)


def build_mime(email: OutgoingEmail) -> EmailMessage:
    """A multipart/alternative message (text/plain, then text/html) without a ``Date``.

    Raises ``ValueError`` naming the field when the sender or recipient is not exactly one
    address, the message id is empty, or a custom header is reserved or malformed.
    """
    envelope_address(email.sender, field="sender")
    envelope_address(email.recipient, field="recipient")
    message = EmailMessage(policy=SMTP)
    message["From"] = email.sender
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Message-ID"] = _angle_bracketed(email.message_id)
    for name, value in email.headers.items():
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"header {name!r} is set by Journeyman; remove it from headers")
        message[name] = _Unfolded(name, value) if name.lower() in _URL_HEADERS else value
    text = email.text if email.text is not None else html_to_text(email.html)
    message.set_content(text, subtype="plain")
    message.add_alternative(email.html, subtype="html")
    for part in message.iter_parts():
        del part["MIME-Version"]  # add_alternative repeats it on the part; it belongs on top only
    return message


_URL_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post"})


class _Unfolded(str):
    """A header value of ASCII URLs, folded only after its commas.

    The SMTP policy would turn a URL longer than a line into RFC 2047 encoded words, which
    no mailbox provider reads in ``List-Unsubscribe`` (RFC 5322 allows 998-character lines).
    """

    name: str

    def __new__(cls, name: str, value: str) -> _Unfolded:
        if not value.isascii() or "\r" in value or "\n" in value:
            raise ValueError(f"header {name!r} must be one line of ASCII")
        header = super().__new__(cls, value)
        header.name = name
        return header

    def fold(self, *, policy: Any) -> str:
        linesep = str(getattr(policy, "linesep", "\r\n"))
        return f"{self.name}: " + ("," + linesep + " ").join(self.split(", ")) + linesep


def envelope_address(value: str, *, field: str) -> str:
    """The bare address in a header value such as ``"Grüße, Jürgen" <j@example.com>``."""
    parsed = getaddresses([value])
    if len(parsed) != 1 or "@" not in parsed[0][1]:
        raise ValueError(f"{field} {value!r} is not a single email address")
    return parsed[0][1]


def html_to_text(html: str) -> str:
    """A plain-text rendering of ``html``: block elements become lines, links keep their URL."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.text()


def _angle_bracketed(message_id: str) -> str:
    bare = message_id.strip().removeprefix("<").removesuffix(">")
    if not bare or any(c.isspace() for c in bare):
        raise ValueError(f"message_id {message_id!r} is not a valid Message-ID (id@domain)")
    return f"<{bare}>"


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._chunks: list[str] = []
        self._skipping = 0
        # One entry per open <a>: its href and where its text starts in _chunks.
        self._anchors: list[tuple[str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self._chunks.append("\n")
        elif tag == "a":
            self._anchors.append((dict(attrs).get("href"), len(self._chunks)))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self._chunks.append("\n")
        elif tag == "a" and self._anchors:
            href, start = self._anchors.pop()
            label = "".join(self._chunks[start:]).strip()
            if href and href != label and not href.startswith(("#", "mailto:")):
                self._chunks.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            # Line breaks in HTML source are plain whitespace; only block tags break lines.
            self._chunks.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = (re.sub(r" {2,}", " ", line).strip() for line in "".join(self._chunks).split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
