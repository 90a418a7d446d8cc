"""SMS and WhatsApp delivery through an HTTP provider speaking the Twilio Messages API.

    settings = ProviderSettings.from_url(
        "twilio+https://AC123:token@api.twilio.com?from=%2B15550001111&whatsapp_from=%2B15550002222"
    )
    async with TwilioTransport(settings) as transport:
        results = await transport.send_sms_many(messages)  # Delivered | DeliveryError, in order

Every message is one ``POST {base}/2010-04-01/Accounts/{sid}/Messages.json`` with basic auth
and the message key as ``I-Twilio-Idempotency-Token``. 429, 5xx, timeouts and connection
trouble are transient; any other 4xx is permanent and quotes Twilio's error code and message.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import httpx

from journeyman.channels.http import HttpTransport
from journeyman.channels.reporting import OnResult
from journeyman.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from journeyman.model.messages import Delivered, OutgoingSms, OutgoingWhatsApp

__all__ = ["ProviderSettings", "SmsCaptureTransport", "TwilioTransport"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
DEFAULT_CONCURRENCY = 10
_SCHEMES = {"twilio+https": "https", "twilio+http": "http"}
_OPTIONS = ("from", "whatsapp_from")
_WHATSAPP = "whatsapp:"
_QUOTED_ERROR_CHARS = 300  # of a non-JSON error body


@dataclass(frozen=True, kw_only=True)
class ProviderSettings:
    """Where and as whom to reach a Twilio-compatible provider. The token stays out of
    ``repr``. ``sms_from`` / ``whatsapp_from`` are the default senders (E.164)."""

    base_url: str
    account_sid: str
    auth_token: str = field(repr=False)
    sms_from: str | None = None
    whatsapp_from: str | None = None

    def __post_init__(self) -> None:
        if not self.account_sid:
            raise ValueError("SMS provider account SID is empty; expected ACCOUNT_SID in the URL")
        if not self.auth_token:
            raise ValueError("SMS provider auth token is empty; expected AUTH_TOKEN in the URL")

    @classmethod
    def from_url(cls, url: str) -> ProviderSettings:
        """Parse ``twilio+https://ACCOUNT_SID:AUTH_TOKEN@host[:port][?from=..&whatsapp_from=..]``.

        ``twilio+http://`` is for a local test server. SID and token are percent-decoded, and
        so are the options (``%2B`` for ``+``). Error messages never repeat the URL, which
        holds the token.
        """
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES:
            raise ValueError(
                f"SMS provider URL scheme {scheme!r} is not supported; "
                "expected twilio+https or twilio+http"
            )
        if parts.path not in ("", "/") or parts.fragment:
            raise ValueError("SMS provider URL has a path or fragment; expected none")
        if not parts.hostname:
            raise ValueError("SMS provider URL has no host; expected e.g. api.twilio.com")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(
                "SMS provider URL port is invalid; expected a number from 1 to 65535"
            ) from None
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        for name in options:
            if name not in _OPTIONS:
                raise ValueError(
                    f"SMS provider URL option {name!r} is unknown; expected one of {_OPTIONS}"
                )
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return cls(
            base_url=f"{_SCHEMES[scheme]}://{host}" + (f":{port}" if port is not None else ""),
            account_sid=unquote(parts.username or ""),
            auth_token=unquote(parts.password or ""),
            sms_from=options.get("from") or None,
            whatsapp_from=options.get("whatsapp_from") or None,
        )

    @property
    def messages_url(self) -> str:
        return (
            f"{self.base_url}/2010-04-01/Accounts/{quote(self.account_sid, safe='')}/Messages.json"
        )


class TwilioTransport(HttpTransport):
    """Sends SMS and WhatsApp template messages, up to ``concurrency`` requests at a time
    (journeyman.channels.http: the client, one event loop). ``timeout`` bounds each request.
    """

    needs_bodies = True

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"SMS provider timeout {timeout} is invalid; expected seconds > 0")
        super().__init__(client=client, concurrency=concurrency, name="SMS provider")
        self.settings = settings
        self._timeout = timeout

    async def send_sms_many(
        self,
        messages: Sequence[OutgoingSms],
        *,
        on_result: OnResult[Delivered | DeliveryError] | None = None,
    ) -> list[Delivered | DeliveryError]:
        """One result per message, in input order, each also passed to ``on_result`` as soon
        as the provider answered; delivery errors are returned, never raised."""
        return await self._each(messages, self._send_sms, on_result)

    async def send_whatsapp_many(
        self,
        messages: Sequence[OutgoingWhatsApp],
        *,
        on_result: OnResult[Delivered | DeliveryError] | None = None,
    ) -> list[Delivered | DeliveryError]:
        """One result per message, in input order, each also passed to ``on_result`` as soon
        as the provider answered; delivery errors are returned, never raised."""
        return await self._each(messages, self._send_whatsapp, on_result)

    async def _send_sms(self, message: OutgoingSms) -> Delivered | DeliveryError:
        context = f"sending SMS {message.key!r} to {message.recipient!r} failed"
        sender = message.sender or self.settings.sms_from
        if not sender:
            return PermanentDeliveryError(f"{context}: no sender; set from= in the provider URL")
        form = {"To": message.recipient, "From": sender, "Body": message.body}
        return await self._post(message.key, form, context)

    async def _send_whatsapp(self, message: OutgoingWhatsApp) -> Delivered | DeliveryError:
        context = f"sending WhatsApp {message.key!r} to {message.recipient!r} failed"
        sender = message.sender or self.settings.whatsapp_from
        if not sender:
            return PermanentDeliveryError(
                f"{context}: no sender; set whatsapp_from= in the provider URL"
            )
        variables = {str(n): value for n, value in enumerate(message.parameters, start=1)}
        form = {
            "To": _whatsapp(message.recipient),
            "From": _whatsapp(sender),
            "ContentSid": message.template,
            "ContentVariables": json.dumps(variables, ensure_ascii=False),
        }
        return await self._post(message.key, form, context)

    async def _post(
        self, key: str, form: Mapping[str, str], context: str
    ) -> Delivered | DeliveryError:
        settings = self.settings
        try:
            async with self._slots, asyncio.timeout(self._timeout):
                response = await self._client.post(
                    settings.messages_url,
                    data=form,
                    auth=(settings.account_sid, settings.auth_token),
                    headers={"I-Twilio-Idempotency-Token": key, "Accept": "application/json"},
                    timeout=self._timeout,
                    follow_redirects=False,
                )
        except (TimeoutError, httpx.TimeoutException):
            return TransientDeliveryError(f"{context}: no answer within {self._timeout} s")
        except httpx.TransportError as exc:
            where = settings.base_url
            return TransientDeliveryError(f"{context}: {where}: {type(exc).__name__}: {exc}")
        return _result(response, context)


def _whatsapp(number: str) -> str:
    return number if number.startswith(_WHATSAPP) else f"{_WHATSAPP}{number}"


def _result(response: httpx.Response, context: str) -> Delivered | DeliveryError:
    body = _json(response)
    status = response.status_code
    if 200 <= status < 300:
        sid = body.get("sid") if isinstance(body, dict) else None
        if not isinstance(sid, str):
            logger.warning(
                "SMS provider accepted a message without a sid",
                extra={"action": "sms_accepted_without_sid", "status": status},
            )
        return Delivered(provider_id=sid if isinstance(sid, str) else "")
    detail = _error_detail(status, body, response)
    if status == 429 or status >= 500:
        retry_after = response.headers.get("Retry-After")
        suffix = f" (Retry-After: {retry_after})" if retry_after else ""
        return TransientDeliveryError(f"{context}: {detail}{suffix}")
    return PermanentDeliveryError(f"{context}: {detail}")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:  # not JSON, or not UTF-8
        return None


def _error_detail(status: int, body: Any, response: httpx.Response) -> str:
    if isinstance(body, dict) and ("code" in body or "message" in body):
        return f"HTTP {status}, provider error {body.get('code')}: {body.get('message')}"
    text = response.text.strip()[:_QUOTED_ERROR_CHARS]
    return f"HTTP {status}: {text}" if text else f"HTTP {status}"


class SmsCaptureTransport:
    """Accepts every SMS and WhatsApp message when no provider is configured; the outbox row
    is the captured copy."""

    name = "capture"
    needs_bodies = False

    # Every result is known at once: returning them is reporting them (``on_result`` unused).

    async def send_sms_many(
        self,
        messages: Sequence[OutgoingSms],
        *,
        on_result: OnResult[Delivered | DeliveryError] | None = None,
    ) -> list[Delivered | DeliveryError]:
        return [Delivered(provider_id=f"captured:{m.key}") for m in messages]

    async def send_whatsapp_many(
        self,
        messages: Sequence[OutgoingWhatsApp],
        *,
        on_result: OnResult[Delivered | DeliveryError] | None = None,
    ) -> list[Delivered | DeliveryError]:
        return [Delivered(provider_id=f"captured:{m.key}") for m in messages]

    async def aclose(self) -> None:
        return None
