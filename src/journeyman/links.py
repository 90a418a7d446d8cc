"""Signed tokens for links in messages (unsubscribe now; tracking later): a token names a
contact and a message and cannot be forged or altered without the secret."""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(secret: bytes, purpose: str, contact_id: int, message_key: str) -> str:
    payload = f"{contact_id}.{message_key}"
    body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{body}.{_mac(secret, purpose, payload)}"


def verify(secret: bytes, purpose: str, token: str) -> tuple[int, str] | None:
    """(contact id, message key) of a valid token, else None."""
    body, _, mac = token.rpartition(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        contact_text, _, key = payload.partition(".")
        contact_id = int(contact_text)
    except (ValueError, UnicodeDecodeError):
        return None
    # Bytes: compare_digest raises TypeError for a str with non-ASCII characters (any URL).
    if not hmac.compare_digest(mac.encode(), _mac(secret, purpose, payload).encode()):
        return None
    return contact_id, key


def _mac(secret: bytes, purpose: str, payload: str) -> str:
    digest = hmac.new(secret, f"{purpose}:{payload}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def unsubscribe_headers(
    secret: bytes, contact_id: int, message_key: str, sender: str, public_url: str | None
) -> dict[str, str]:
    """``List-Unsubscribe`` (RFC 2369) and, with a public HTTPS address, RFC 8058 one-click."""
    token = sign(secret, "unsubscribe", contact_id, message_key)
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else "journeyman.invalid"
    targets = [f"<mailto:unsubscribe@{domain}?subject=unsubscribe%20{token}>"]
    headers: dict[str, str] = {}
    if public_url:
        targets.insert(0, f"<{public_url.rstrip('/')}/unsubscribe/{token}>")
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    headers["List-Unsubscribe"] = ", ".join(targets)
    return headers
