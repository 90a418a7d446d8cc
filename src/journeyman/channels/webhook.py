"""Outbound webhook calls: JSON over HTTP, signed the Standard Webhooks way, guarded against
requests into private networks.

    async with WebhookTransport(allow_networks=["10.1.0.0/16"]) as transport:
        results = await transport.call_many(requests)  # WebhookResponse | DeliveryError

Any HTTP answer below 500 other than 429 is a WebhookResponse (the caller branches on it; a 4xx
is final). 5xx, 429, timeouts and connection trouble are a :class:`WebhookHttpError`, which a
retry may fix. A URL whose host resolves to a loopback, private, link-local, multicast,
reserved or unspecified address is refused (permanently) unless ``allow_networks`` holds it.
Every address the name resolves to must pass. Plain HTTP then goes to a checked address, so a
second DNS answer cannot redirect it; HTTPS relies on the certificate check for that. Redirects
are not followed.

Signing (https://www.standardwebhooks.com): with a secret, every request carries
``webhook-id`` (the key), ``webhook-timestamp`` (unix seconds) and ``webhook-signature``
(``v1,`` + base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"``). Receivers check it with
:func:`verify`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import email.utils
import hashlib
import hmac
import ipaddress
import logging
import socket
from collections.abc import Iterable, Sequence
from typing import Any

import httpx
import orjson

from journeyman.channels.http import HttpTransport
from journeyman.channels.reporting import OnResult
from journeyman.clock import Clock, SystemClock
from journeyman.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from journeyman.model.messages import WebhookRequest, WebhookResponse

__all__ = ["WebhookHttpError", "WebhookTransport", "sign", "verify"]

logger = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 10
MAX_TEXT_CHARS = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024  # read no further; a longer body is kept as text only
DEFAULT_TOLERANCE = 300  # seconds a signed timestamp may be off, as Standard Webhooks advises
_SCHEMES = {"http": 80, "https": 443}
_SECRET_PREFIX = "whsec_"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class WebhookHttpError(TransientDeliveryError):
    """The webhook call failed; a retry may succeed. ``status`` is the HTTP status of the
    answer (None when none came: a timeout or a connection failure); ``retry_after`` the
    seconds the server asked to wait, if it said."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


# --- signing ------------------------------------------------------------------------------


def secret_bytes(secret: str) -> bytes:
    """The HMAC key: ``whsec_<base64>`` is decoded, any other string is taken as UTF-8."""
    if not secret.startswith(_SECRET_PREFIX):
        return secret.encode()
    try:
        return base64.b64decode(secret.removeprefix(_SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("webhook secret starts with whsec_ but is not valid base64") from None


def sign(secret: str, key: str, timestamp: int, body: bytes | str) -> str:
    """The ``webhook-signature`` header value: ``v1,<base64 HMAC-SHA256>``."""
    payload = body.encode() if isinstance(body, str) else body
    message = f"{key}.{timestamp}.".encode() + payload
    digest = hmac.new(secret_bytes(secret), message, hashlib.sha256).digest()
    return f"v1,{base64.b64encode(digest).decode()}"


def verify(
    secret: str,
    key: str,
    timestamp: int | str,
    body: bytes | str,
    signature: str,
    *,
    now: int | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
) -> bool:
    """Whether ``signature`` (a ``webhook-signature`` header, possibly several space-separated
    signatures) signs ``body``. With ``now`` (unix seconds), also whether ``timestamp`` is
    within ``tolerance`` seconds of it, against replays."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if now is not None and abs(now - stamp) > tolerance:
        return False
    expected = sign(secret, key, stamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in signature.split())


# --- the SSRF guard -----------------------------------------------------------------------


def parse_networks(networks: Iterable[str]) -> tuple[IPNetwork, ...]:
    parsed = []
    for network in networks:
        try:
            parsed.append(ipaddress.ip_network(network.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"webhook allow_networks entry {network!r} is invalid; "
                "expected a CIDR such as '127.0.0.0/8' or 'fd00::/8'"
            ) from None
    return tuple(parsed)


def _embedded(address: IPAddress) -> list[IPAddress]:
    """Any IPv4 address ``address`` carries (IPv4-mapped, 6to4, Teredo), then itself."""
    found: list[IPAddress] = []
    if isinstance(address, ipaddress.IPv6Address):
        found += [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
        if address.teredo is not None:
            found += address.teredo
    return [*found, address]


# Most specific first: Python counts loopback and link-local addresses as private too.
_KINDS = ("unspecified", "loopback", "link-local", "multicast", "reserved", "private")


def refusal(address: IPAddress, allowed: Sequence[IPNetwork]) -> str | None:
    """Why ``address`` may not be called (e.g. ``"loopback"``), or None when it may."""
    candidates = _embedded(address)
    if any(a in network for a in candidates for network in allowed):
        return None
    for candidate in candidates:
        for kind in _KINDS:
            if getattr(candidate, f"is_{kind.replace('-', '_')}"):
                return kind
        if not candidate.is_global:
            return "non-global"
    return None


async def _resolve(host: str, port: int) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # drop a zone id
        if address not in addresses:
            addresses.append(address)
    return addresses


# --- the transport ------------------------------------------------------------------------


class WebhookTransport(HttpTransport):
    """Calls webhooks, up to ``concurrency`` at a time; one result per request, in order
    (journeyman.channels.http: the client, one event loop). The clock stamps signatures.
    """

    def __init__(
        self,
        *,
        allow_networks: Sequence[str] = (),
        client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        allowed = parse_networks(allow_networks)
        super().__init__(client=client, concurrency=concurrency, name="webhook")
        self.allow_networks = allowed
        self._clock = clock or SystemClock()

    async def call_many(
        self,
        requests: Sequence[WebhookRequest],
        *,
        on_result: OnResult[WebhookResponse | DeliveryError] | None = None,
    ) -> list[WebhookResponse | DeliveryError]:
        """Call every webhook; each result is also passed to ``on_result`` as soon as it came.
        Errors are returned, never raised."""
        return await self._each(requests, self._call, on_result)

    async def _call(self, request: WebhookRequest) -> WebhookResponse | DeliveryError:
        context = f"calling webhook {request.key!r} ({request.method} {_shown(request.url)})"
        try:
            prepared = self._prepare(request)
        except (ValueError, TypeError, httpx.InvalidURL) as exc:
            return PermanentDeliveryError(f"{context} refused: {exc}")
        async with self._slots:
            try:
                async with asyncio.timeout(request.timeout):
                    return await self._send(prepared, context)
            except (TimeoutError, httpx.TimeoutException):
                return WebhookHttpError(f"{context} failed: no answer within {request.timeout} s")
            except httpx.TransportError as exc:
                return WebhookHttpError(f"{context} failed: {type(exc).__name__}: {exc}")

    def _prepare(self, request: WebhookRequest) -> httpx.Request:
        """The request as it would go to the URL's host (validated, serialized, signed)."""
        if not request.timeout > 0:
            raise ValueError(f"timeout {request.timeout} is invalid; expected seconds > 0")
        url = httpx.URL(request.url)
        if url.scheme not in _SCHEMES:
            raise ValueError(f"URL scheme {url.scheme!r} is not allowed; expected http or https")
        if not url.host:
            raise ValueError("URL has no host")
        body = b"" if request.body is None else orjson.dumps(request.body)
        headers = httpx.Headers(request.headers)
        if request.body is not None and "content-type" not in headers:
            headers["Content-Type"] = "application/json"
        headers["Idempotency-Key"] = request.key
        if request.secret is not None:
            timestamp = int(self._clock.now().timestamp())
            headers["webhook-id"] = request.key
            headers["webhook-timestamp"] = str(timestamp)
            headers["webhook-signature"] = " ".join(
                sign(secret, request.key, timestamp, body)
                for secret in (request.secret, *request.previous_secrets)
            )
        timeout = httpx.Timeout(request.timeout).as_dict()
        return httpx.Request(
            request.method.upper(),
            url,
            headers=headers,
            content=body,
            extensions={"timeout": timeout},
        )

    async def _send(self, prepared: httpx.Request, context: str) -> WebhookResponse | DeliveryError:
        url = prepared.url
        port = url.port or _SCHEMES[url.scheme]
        try:
            addresses = await _resolve(url.raw_host.decode("ascii"), port)
        except (OSError, UnicodeError) as exc:
            return WebhookHttpError(f"{context} failed: cannot resolve {url.host!r}: {exc}")
        if not addresses:
            return WebhookHttpError(f"{context} failed: {url.host!r} resolves to no address")
        for address in addresses:
            reason = refusal(address, self.allow_networks)
            if reason is not None:
                logger.warning(
                    "webhook refused: %s is %s",
                    address,
                    reason,
                    extra={"action": "webhook_refused", "host": url.host, "address": str(address)},
                )
                return PermanentDeliveryError(
                    f"{context} refused: host {url.host!r} resolves to {address}, a {reason} "
                    "address; allow its network in the webhook allow_networks to call it"
                )
        return await self._send_pinned(prepared, addresses, context)

    async def _send_pinned(
        self, prepared: httpx.Request, addresses: Sequence[IPAddress], context: str
    ) -> WebhookResponse | DeliveryError:
        """Send to the checked addresses in turn (the next one only when connecting failed).

        Plain HTTP is pinned to a checked address, so a second DNS answer (DNS rebinding)
        cannot move it. HTTPS goes to the host name: pinning would let the connection pool
        share one TLS connection between host names on one address, and a rebound address
        would have to show a certificate for the host name anyway.
        """
        targets = addresses if prepared.url.scheme == "http" else [None]
        failure: httpx.ConnectError | None = None
        for address in targets:
            outgoing = prepared if address is None else _pinned(prepared, address)
            try:
                response = await self._client.send(outgoing, stream=True, follow_redirects=False)
            except httpx.ConnectError as exc:
                failure = exc
                continue
            try:
                return await _answer(response, context, self._clock.now())
            finally:
                await response.aclose()
        return WebhookHttpError(f"{context} failed: ConnectError: {failure}")


def _pinned(prepared: httpx.Request, address: IPAddress) -> httpx.Request:
    """``prepared`` sent to ``address``, its Host header still the URL's host."""
    headers = httpx.Headers(prepared.headers)
    headers["Host"] = prepared.url.netloc.decode("ascii")
    return httpx.Request(
        prepared.method,
        prepared.url.copy_with(host=str(address)),
        headers=headers,
        content=prepared.content,
        extensions=prepared.extensions,
    )


async def _answer(
    response: httpx.Response, context: str, now: dt.datetime
) -> WebhookResponse | DeliveryError:
    status = response.status_code
    if status >= 500 or status == 429:
        retry_after = _retry_after(response.headers, now)
        return WebhookHttpError(
            f"{context} failed: HTTP {status} {response.reason_phrase}".rstrip(),
            status=status,
            retry_after=retry_after,
        )
    body, complete = await _read(response)
    text = _decode(body, response.charset_encoding)
    return WebhookResponse(
        status=status,
        json=_json(body) if complete else None,
        text=text[:MAX_TEXT_CHARS],
        headers=dict(response.headers),
    )


async def _read(response: httpx.Response) -> tuple[bytes, bool]:
    """Up to MAX_BODY_BYTES of the body, and whether that is all of it."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"".join(chunks)[:MAX_BODY_BYTES], False
    return b"".join(chunks), True


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


def _json(body: bytes) -> Any | None:
    if not body.strip():
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _retry_after(headers: httpx.Headers, now: dt.datetime) -> float | None:
    """Retry-After in seconds: a number, or an HTTP date (counted from the answer's Date)."""
    value = headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    when, sent = _http_date(value), _http_date(headers.get("Date", ""))
    if when is None:
        return None
    return max(0.0, (when - (sent or now)).total_seconds())


def _http_date(value: str) -> dt.datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _shown(url: str) -> str:
    """The URL without user info or query, which may hold credentials."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return repr(url[:80])
    return str(parsed.copy_with(userinfo=b"", query=None, fragment=None))
