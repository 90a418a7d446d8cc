"""SMTP delivery over a small pool of reused aiosmtplib connections.

    settings = SmtpSettings.from_url("smtp+starttls://user:p%40ss@mail.example.com?connections=4")
    async with SmtpTransport(settings) as transport:
        results = await transport.send_many(emails)  # Delivered | DeliveryError, in input order

Each email is sent on its own (no PIPELINING), so at most ``connections`` emails are in flight
at a time; ``on_result`` hears each result as soon as its reply came.

Reply codes decide the error class: 4xx and connection trouble are transient, 5xx permanent.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import ssl
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Self, TypeVar
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

import aiosmtplib

from journeyman.channels.mime import build_mime, envelope_address
from journeyman.channels.reporting import OnResult
from journeyman.clock import Clock, SystemClock
from journeyman.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from journeyman.model.messages import Delivered, OutgoingEmail

__all__ = ["SmtpSettings", "SmtpTransport", "TlsMode"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECTIONS = 4


class TlsMode(enum.Enum):
    """How an SMTP connection is encrypted."""

    NONE = "none"  # plain text, never upgraded
    OPPORTUNISTIC = "opportunistic"  # STARTTLS when the server offers it, plain text otherwise
    STARTTLS = "starttls"  # STARTTLS, or no delivery at all
    IMPLICIT = "implicit"  # TLS from the first byte (smtps://)


_SCHEMES = {
    "smtp": (TlsMode.NONE, 25),
    "smtps": (TlsMode.IMPLICIT, 465),
    "smtp+starttls": (TlsMode.STARTTLS, 587),
}
_STARTTLS_VALUES = {
    "true": TlsMode.STARTTLS,
    "required": TlsMode.STARTTLS,
    "opportunistic": TlsMode.OPPORTUNISTIC,
    "false": TlsMode.NONE,
}
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_T = TypeVar("_T")
_N = TypeVar("_N", int, float)
_OPTIONS = ("starttls", "timeout", "connections", "verify")
# aiosmtplib's start_tls: True = required, None = when offered, False = never.
_START_TLS: dict[TlsMode, bool | None] = {
    TlsMode.NONE: False,
    TlsMode.OPPORTUNISTIC: None,
    TlsMode.STARTTLS: True,
    TlsMode.IMPLICIT: False,
}


@dataclass(frozen=True, kw_only=True)
class SmtpSettings:
    """Where and how to reach an SMTP server. The password stays out of ``repr``."""

    host: str
    port: int
    tls: TlsMode = TlsMode.NONE
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    connections: int = DEFAULT_CONNECTIONS
    verify: bool = True

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("SMTP host is empty; expected a host name or an address")
        if not 0 < self.port < 65536:
            raise ValueError(f"SMTP port {self.port} is out of range; expected 1 to 65535")
        if not self.timeout > 0:
            raise ValueError(f"SMTP timeout {self.timeout} is invalid; expected seconds > 0")
        if self.connections < 1:
            raise ValueError(f"SMTP connections {self.connections} is invalid; expected >= 1")
        if self.password is not None and self.username is None:
            raise ValueError("SMTP password is set without a user name; expected both or neither")

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """Parse ``scheme://[user[:password]@]host[:port][?option=value&...]``.

        Schemes: ``smtp`` (port 25, plain unless ``starttls=true|required|opportunistic``),
        ``smtps`` (port 465, implicit TLS), ``smtp+starttls`` (port 587, STARTTLS required).
        Options: ``timeout`` (seconds), ``connections`` (parallel connections), ``verify``
        (``false`` skips certificate checks, for self-signed certificates). User and password
        are percent-decoded. Error messages never repeat the URL, which may hold the password.
        """
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES:
            raise ValueError(
                f"SMTP URL scheme {scheme!r} is not supported; "
                "expected smtp, smtps or smtp+starttls"
            )
        if parts.path not in ("", "/") or parts.fragment:
            raise ValueError("SMTP URL has a path or fragment; expected none")
        options = _options(parts.query)
        tls, default_port = _SCHEMES[scheme]
        return cls(
            host=parts.hostname or "",
            port=_port(parts, default_port),
            tls=_tls(scheme, tls, options),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            timeout=_number("timeout", options.get("timeout"), float, DEFAULT_TIMEOUT),
            connections=_number(
                "connections", options.get("connections"), int, DEFAULT_CONNECTIONS
            ),
            verify=_choice("verify", options.get("verify", "true"), _BOOLEANS),
        )


def _port(parts: SplitResult, default: int) -> int:
    try:
        port = parts.port
    except ValueError:  # urllib's own message does not say what is expected
        raise ValueError("SMTP URL port is invalid; expected a number from 1 to 65535") from None
    return default if port is None else port


def _tls(scheme: str, default: TlsMode, options: dict[str, str]) -> TlsMode:
    if "starttls" not in options:
        return default
    if scheme != "smtp":
        raise ValueError(f"SMTP URL option 'starttls' applies to smtp:// only, not {scheme}")
    return _choice("starttls", options["starttls"], _STARTTLS_VALUES)


def _options(query: str) -> dict[str, str]:
    options = dict(parse_qsl(query, keep_blank_values=True))
    for name in options:
        if name not in _OPTIONS:
            raise ValueError(f"SMTP URL option {name!r} is unknown; expected one of {_OPTIONS}")
    return options


def _choice(name: str, raw: str, choices: dict[str, _T]) -> _T:
    try:
        return choices[raw.lower()]
    except KeyError:
        raise ValueError(
            f"SMTP URL option {name}={raw!r} is invalid; expected one of {sorted(choices)}"
        ) from None


def _number(name: str, raw: str | None, kind: type[_N], default: _N) -> _N:
    if raw is None:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(
            f"SMTP URL option {name}={raw!r} is invalid; expected a number ({kind.__name__})"
        ) from None


class _Results:
    """The results of one ``send_many``, each reported as it is settled."""

    def __init__(self, count: int, on_result: OnResult[Delivered | DeliveryError] | None) -> None:
        self._results: list[Delivered | DeliveryError | None] = [None] * count
        self._on_result = on_result

    def settle(self, index: int, result: Delivered | DeliveryError) -> None:
        self._results[index] = result
        if self._on_result is not None:
            self._on_result(index, result)

    def all(self) -> list[Delivered | DeliveryError]:
        settled = [result for result in self._results if result is not None]
        if len(settled) != len(self._results):  # pragma: no cover - every email is settled
            raise RuntimeError("the SMTP transport lost track of an email")
        return settled


# A queued email: its index in the batch, the email, whether it was already retried on a new
# connection after the previous one dropped.
_Item = tuple[int, OutgoingEmail, bool]


class SmtpTransport:
    """Delivers emails over up to ``settings.connections`` parallel, reused SMTP connections.

    Connections stay open between batches; ``aclose`` ends them. A connection that drops (or
    answers 421) is replaced and the email retried once on the new one. Use a transport from
    one event loop only.
    """

    needs_bodies = True

    def __init__(self, settings: SmtpSettings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self._clock = clock or SystemClock()
        self._tls_context = None if settings.tls is TlsMode.NONE else _tls_context(settings)
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(settings.connections)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def send_many(
        self,
        emails: Sequence[OutgoingEmail],
        *,
        on_result: OnResult[Delivered | DeliveryError] | None = None,
    ) -> list[Delivered | DeliveryError]:
        """Deliver ``emails``: one result per email, in input order, each also passed to
        ``on_result`` as soon as the server answered. Delivery errors are returned, never
        raised."""
        results = _Results(len(emails), on_result)
        pending: deque[_Item] = deque((index, email, False) for index, email in enumerate(emails))
        async with asyncio.TaskGroup() as group:
            workers = min(self.settings.connections, len(emails))
            tasks = [group.create_task(self._work(pending, results)) for _ in range(workers)]
        # Emails still pending were left by workers that could not connect: share their error.
        failures = [task.result() for task in tasks]
        while pending:
            index, _, _ = pending.popleft()
            results.settle(index, next(f for f in failures if f is not None))
        return results.all()

    async def aclose(self) -> None:
        """Say QUIT on every open connection and close it."""
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_quit(client) for client in idle))

    async def _work(self, pending: deque[_Item], results: _Results) -> DeliveryError | None:
        """Send pending emails on one connection; stop early, saying why, if it cannot connect."""
        async with self._slots:
            client = self._idle.pop() if self._idle else self._client()
            try:
                failure = await self._drain(client, pending, results)
            except BaseException:
                client.close()  # interrupted mid-transaction: the session state is unknown
                raise
            if client.is_connected:
                self._idle.append(client)
            return failure

    async def _drain(
        self,
        client: aiosmtplib.SMTP,
        pending: deque[_Item],
        results: _Results,
    ) -> DeliveryError | None:
        while pending:
            index, email, retried = pending.popleft()
            if not client.is_connected:
                failure = await self._connect(client)
                if failure is not None:
                    pending.appendleft((index, email, retried))
                    return failure
            result, dropped = await self._deliver(client, email)
            if dropped and not retried:
                logger.info(
                    "SMTP connection dropped; retrying on a new one",
                    extra={"action": "smtp_retry_after_drop", "message_id": email.message_id},
                )
                pending.appendleft((index, email, True))
            else:
                results.settle(index, result)
        return None

    async def _connect(self, client: aiosmtplib.SMTP) -> DeliveryError | None:
        where = f"{self.settings.host}:{self.settings.port}"
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            # A failed STARTTLS or login leaves the socket open: close it now, and let the
            # loop run the transport's close callbacks before the caller's loop may end
            client.close()
            for _ in range(3):
                await asyncio.sleep(0)
            error = _delivery_error(exc, f"connecting to SMTP server {where} failed")
            logger.warning("%s", error, extra={"action": "smtp_connect_failed", "server": where})
            return error
        logger.debug("SMTP connected", extra={"action": "smtp_connected", "server": where})
        return None

    async def _deliver(
        self, client: aiosmtplib.SMTP, email: OutgoingEmail
    ) -> tuple[Delivered | DeliveryError, bool]:
        """Send one email. The flag says the connection dropped, so a new one may succeed."""
        context = f"sending {email.message_id!r} to {email.recipient!r} failed"
        try:
            message = self._stamped(email)
            sender = envelope_address(email.sender, field="sender")
            recipient = envelope_address(email.recipient, field="recipient")
        except ValueError as exc:
            return PermanentDeliveryError(f"{context}: {exc}"), False
        try:
            await client.send_message(message, sender=sender, recipients=[recipient])
        except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
            return _delivery_error(exc, context), _is_drop(exc)
        return Delivered(provider_id=str(message["Message-ID"])), False

    def _stamped(self, email: OutgoingEmail) -> EmailMessage:
        message = build_mime(email)
        message["Date"] = format_datetime(self._clock.now())
        return message

    def _client(self) -> aiosmtplib.SMTP:
        settings = self.settings
        return aiosmtplib.SMTP(
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            timeout=settings.timeout,
            use_tls=settings.tls is TlsMode.IMPLICIT,
            start_tls=_START_TLS[settings.tls],
            tls_context=self._tls_context,
        )


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not settings.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _reply(exc: Exception) -> tuple[int, str] | None:
    """The SMTP reply behind ``exc``, if the server gave one."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        return exc.recipients[0].code, exc.recipients[0].message
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code, exc.message
    return None


def _is_drop(exc: Exception) -> bool:
    reply = _reply(exc)
    # 421: the server closes the channel, often a per-connection limit; a new one may do.
    return isinstance(exc, aiosmtplib.SMTPServerDisconnected) or (
        reply is not None and reply[0] == 421
    )


def _delivery_error(exc: Exception, context: str) -> DeliveryError:
    reply = _reply(exc)
    if reply is None:
        # Socket trouble (refused, reset, timeout, TLS) may pass; anything else is a refusal
        # a retry would repeat (bad address, missing server feature).
        kind: type[DeliveryError] = (
            TransientDeliveryError if isinstance(exc, OSError) else PermanentDeliveryError
        )
        return kind(f"{context}: {exc}")
    code, text = reply
    kind = PermanentDeliveryError if 500 <= code < 600 else TransientDeliveryError
    return kind(f"{context}: SMTP {code} {text}")


async def _quit(client: aiosmtplib.SMTP) -> None:
    # The server may be gone already; closing our side is all that is left then.
    with contextlib.suppress(aiosmtplib.SMTPException, OSError):
        await client.quit()
    client.close()
