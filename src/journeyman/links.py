"""Signed tokens for links in messages: unsubscribe, the open pixel and tracked links. A
token names a contact and a message (and, for a tracked link, the link's address) and
cannot be forged or altered without the secret. Tokens are URL-safe base64 (one path
segment): the payload, a dot, 18 bytes of HMAC-SHA256.

The signing secret of a workflow's webhooks is derived from the same secret here
(:func:`workflow_secret`); the dispatcher derives it when it calls, so it is never stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from functools import lru_cache

OPEN = "open"
CLICK = "click"
UNSUBSCRIBE = "unsubscribe"
_URL_SEPARATOR = "\n"  # never in a message key (run id, step id, sequence number)


def sign(
    secret: bytes, purpose: str, contact_id: int, message_key: str, url: str | None = None
) -> str:
    payload = f"{contact_id}.{message_key}"
    if url is not None:
        payload += _URL_SEPARATOR + url
    body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{body}.{_mac(secret, purpose, payload)}"


Secrets = bytes | Iterable[bytes]  # a token verifies when signed with any of them


def workflow_secret(secret: bytes, workflow_key: str) -> str:
    """The signing secret of a workflow's webhooks (``journeyman workflow secret KEY``), in
    the Standard Webhooks form ``whsec_<base64>``."""
    digest = hmac.new(secret, f"webhook:{workflow_key}".encode(), hashlib.sha256).digest()
    return "whsec_" + base64.b64encode(digest).decode()


def verify(secret: Secrets, purpose: str, token: str) -> tuple[int, str] | None:
    """(contact id, message key) of a valid token without a link, else None."""
    found = _verified(secret, purpose, token)
    if found is None or found[2] is not None:
        return None
    return found[0], found[1]


def verify_link(secret: Secrets, token: str) -> tuple[int, str, str] | None:
    """(contact id, message key, address) of a valid tracked-link token, else None."""
    found = _verified(secret, CLICK, token)
    if found is None or found[2] is None:
        return None
    return found[0], found[1], found[2]


def _verified(secret: Secrets, purpose: str, token: str) -> tuple[int, str, str | None] | None:
    body, _, mac = token.rpartition(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        contact_text, _, rest = payload.partition(".")
        contact_id = int(contact_text)
    except (ValueError, UnicodeDecodeError):
        return None
    # Bytes: compare_digest raises TypeError for a str with non-ASCII characters (any URL).
    given = mac.encode()
    candidates = (secret,) if isinstance(secret, bytes) else secret
    if not any(hmac.compare_digest(given, _mac(s, purpose, payload).encode()) for s in candidates):
        return None
    key, separator, url = rest.partition(_URL_SEPARATOR)
    return contact_id, key, url if separator else None


def _mac(secret: bytes, purpose: str, payload: str) -> str:
    # hmac.digest: the one-shot C path, a third of hmac.new's cost (one per link of an email).
    digest = hmac.digest(secret, f"{purpose}:{payload}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest[:18]).decode()


@lru_cache(maxsize=256)
def _unsubscribe_token(secret: bytes, contact_id: int, message_key: str) -> str:
    """(Remembered: an email's link, its footer and its headers name the same token.)"""
    return sign(secret, UNSUBSCRIBE, contact_id, message_key)


def unsubscribe_url(secret: bytes, contact_id: int, message_key: str, public_url: str) -> str:
    """The unsubscribe page of this message (GET shows it, POST unsubscribes: RFC 8058)."""
    token = _unsubscribe_token(secret, contact_id, message_key)
    return f"{public_url.rstrip('/')}/unsubscribe/{token}"


def unsubscribe_mailto(secret: bytes, contact_id: int, message_key: str, sender: str) -> str:
    token = _unsubscribe_token(secret, contact_id, message_key)
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else "journeyman.invalid"
    return f"mailto:unsubscribe@{domain}?subject=unsubscribe%20{token}"


def unsubscribe_headers(
    secret: bytes, contact_id: int, message_key: str, sender: str, public_url: str | None
) -> dict[str, str]:
    """``List-Unsubscribe`` (RFC 2369) and, with a public HTTPS address, RFC 8058 one-click."""
    targets = [f"<{unsubscribe_mailto(secret, contact_id, message_key, sender)}>"]
    headers: dict[str, str] = {}
    if public_url:
        targets.insert(0, f"<{unsubscribe_url(secret, contact_id, message_key, public_url)}>")
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    headers["List-Unsubscribe"] = ", ".join(targets)
    return headers
