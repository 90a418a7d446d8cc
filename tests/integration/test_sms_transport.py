"""TwilioTransport against a real HTTP server on loopback, and ProviderSettings.from_url."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TypeVar

import pytest

from journeyman.channels.sms import ProviderSettings, SmsCaptureTransport, TwilioTransport
from journeyman.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from journeyman.model.messages import Delivered, OutgoingSms, OutgoingWhatsApp

from .http_server import HttpServer, Reply

SID = "AC0123456789abcdef"
TOKEN = "t0k:en/+secret"  # characters that must be percent-encoded in a URL
TOKEN_IN_URL = "t0k%3Aen%2F%2Bsecret"
PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"
T = TypeVar("T")


@pytest.fixture
def server() -> Iterator[HttpServer]:
    with HttpServer(lambda _: Reply(status=201, json={"sid": "SM1"})) as server:
        yield server


def settings_for(server: HttpServer, query: str = "from=%2B15550001111") -> ProviderSettings:
    return ProviderSettings.from_url(
        f"twilio+http://{SID}:{TOKEN_IN_URL}@127.0.0.1:{server.port}?{query}"
    )


def run(
    settings: ProviderSettings,
    scenario: Callable[[TwilioTransport], Awaitable[T]],
    timeout: float = 5,
) -> T:
    async def main() -> T:
        async with TwilioTransport(settings, timeout=timeout) as transport:
            return await scenario(transport)

    return asyncio.run(main())


def send(
    settings: ProviderSettings, messages: Sequence[OutgoingSms], timeout: float = 5
) -> list[Delivered | DeliveryError]:
    return run(settings, lambda transport: transport.send_sms_many(messages), timeout)


def sms(n: int, sender: str = "") -> OutgoingSms:
    return OutgoingSms(
        key=f"msg:{n}", sender=sender, recipient=f"+4915100000{n:03}", body=f"Hi {n}"
    )


# --- SMS ----------------------------------------------------------------------------------


def test_an_sms_is_one_form_post_with_basic_auth_and_the_idempotency_token(
    server: HttpServer,
) -> None:
    server.reply(Reply(status=201, json={"sid": "SM0042", "status": "queued"}))

    results = send(settings_for(server), [sms(42)])

    assert results == [Delivered(provider_id="SM0042")]
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", PATH)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form() == {"To": "+4915100000042", "From": "+15550001111", "Body": "Hi 42"}
    assert (
        request.headers["authorization"]
        == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    )
    assert request.headers["i-twilio-idempotency-token"] == "msg:42"


def test_the_message_sender_wins_over_the_default(server: HttpServer) -> None:
    send(settings_for(server), [sms(1, sender="+15559999999")])

    assert server.requests[0].form()["From"] == "+15559999999"


def test_no_sender_at_all_is_permanent_and_sends_nothing(server: HttpServer) -> None:
    (result,) = send(settings_for(server, query=""), [sms(1)])

    assert isinstance(result, PermanentDeliveryError)
    assert "no sender" in str(result) and "from=" in str(result)
    assert server.requests == []


def test_a_retry_carries_the_same_idempotency_token(server: HttpServer) -> None:
    server.reply(Reply(status=503))

    first = send(settings_for(server), [sms(7)])
    second = send(settings_for(server), [sms(7)])

    assert isinstance(first[0], TransientDeliveryError)
    assert second == [Delivered(provider_id="SM1")]
    tokens = [r.headers["i-twilio-idempotency-token"] for r in server.requests]
    assert tokens == ["msg:7", "msg:7"]


def test_a_400_with_a_twilio_error_is_permanent_and_names_the_code(server: HttpServer) -> None:
    error = {
        "code": 21211,
        "message": "The 'To' number +49151 is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }
    server.reply(Reply(status=400, json=error))

    (result,) = send(settings_for(server), [sms(1)])

    assert isinstance(result, PermanentDeliveryError)
    assert "21211" in str(result) and "not a valid phone number" in str(result)
    assert "msg:1" in str(result) and "HTTP 400" in str(result)


def test_a_4xx_without_json_quotes_the_body(server: HttpServer) -> None:
    server.reply(Reply(status=401, body="bad credentials"))

    (result,) = send(settings_for(server), [sms(1)])

    assert isinstance(result, PermanentDeliveryError)
    assert "HTTP 401: bad credentials" in str(result)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_transient(server: HttpServer, status: int) -> None:
    refusal = Reply(status=status, json={"code": 20429, "message": "Too Many Requests"})
    server.answer = lambda r: refusal if r.form()["Body"] == "Hi 1" else Reply(status=201)

    results = send(settings_for(server), [sms(1), sms(2)])

    assert isinstance(results[0], TransientDeliveryError)
    assert f"HTTP {status}" in str(results[0])
    assert results[1] == Delivered(provider_id="")  # accepted, though without a sid


def test_a_server_slower_than_the_timeout_is_transient(server: HttpServer) -> None:
    server.reply(Reply(status=201, json={"sid": "late"}, delay=3))
    started = time.monotonic()

    (result,) = send(settings_for(server), [sms(1)], timeout=0.3)

    assert isinstance(result, TransientDeliveryError)
    assert "no answer within 0.3 s" in str(result)
    assert time.monotonic() - started < 2
    assert len(server.requests) == 1  # it arrived; the answer did not


def test_a_closed_port_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ProviderSettings.from_url(f"twilio+http://{SID}:x@127.0.0.1:{port}?from=%2B1555")

    results = send(settings, [sms(1), sms(2)])

    for result in results:
        assert isinstance(result, TransientDeliveryError)
        assert f"127.0.0.1:{port}" in str(result)


def test_thirty_messages_are_delivered_in_order_with_bounded_concurrency(
    server: HttpServer,
) -> None:
    server.answer = lambda request: Reply(
        status=201, json={"sid": f"SM-{request.form()['Body']}"}, delay=0.05
    )
    messages = [sms(n) for n in range(30)]

    results = send(settings_for(server), messages)

    assert results == [Delivered(provider_id=f"SM-Hi {n}") for n in range(30)]
    assert sorted(r.headers["i-twilio-idempotency-token"] for r in server.requests) == sorted(
        f"msg:{n}" for n in range(30)
    )
    assert 1 < server.max_in_flight <= 10


def test_an_empty_batch_sends_nothing(server: HttpServer) -> None:
    assert send(settings_for(server), []) == []
    assert server.requests == []


# --- WhatsApp -----------------------------------------------------------------------------


def whatsapp(n: int, parameters: tuple[str, ...] = ("Jane", "JM-10")) -> OutgoingWhatsApp:
    return OutgoingWhatsApp(
        key=f"wa:{n}",
        sender="",
        recipient="+4915100000001",
        template="HX0123456789abcdef",
        parameters=parameters,
    )


def test_a_whatsapp_template_message_has_the_twilio_content_shape(server: HttpServer) -> None:
    server.reply(Reply(status=201, json={"sid": "MM1"}))
    settings = settings_for(server, query="from=%2B15550001111&whatsapp_from=%2B15550002222")

    results = run(settings, lambda t: t.send_whatsapp_many([whatsapp(1, ("Jürgen", "10 %"))]))

    assert results == [Delivered(provider_id="MM1")]
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", PATH)
    form = request.form()
    assert set(form) == {"To", "From", "ContentSid", "ContentVariables"}
    assert form["To"] == "whatsapp:+4915100000001"
    assert form["From"] == "whatsapp:+15550002222"
    assert form["ContentSid"] == "HX0123456789abcdef"
    assert json.loads(form["ContentVariables"]) == {"1": "Jürgen", "2": "10 %"}
    assert request.headers["i-twilio-idempotency-token"] == "wa:1"
    assert request.headers["authorization"].startswith("Basic ")


def test_whatsapp_addresses_already_prefixed_are_kept(server: HttpServer) -> None:
    message = OutgoingWhatsApp(
        key="wa:2",
        sender="whatsapp:+15550003333",
        recipient="whatsapp:+4915100000002",
        template="HX1",
    )

    run(settings_for(server), lambda t: t.send_whatsapp_many([message]))

    form = server.requests[0].form()
    assert (form["From"], form["To"]) == ("whatsapp:+15550003333", "whatsapp:+4915100000002")
    assert json.loads(form["ContentVariables"]) == {}


def test_whatsapp_without_a_sender_is_permanent(server: HttpServer) -> None:
    (result,) = run(settings_for(server), lambda t: t.send_whatsapp_many([whatsapp(1)]))

    assert isinstance(result, PermanentDeliveryError)
    assert "whatsapp_from=" in str(result)
    assert server.requests == []


# --- capture and settings -----------------------------------------------------------------


def test_the_capture_transport_accepts_everything_and_sends_nothing() -> None:
    async def main() -> list[Delivered | DeliveryError]:
        transport = SmsCaptureTransport()
        results = await transport.send_sms_many([sms(1)])
        results += await transport.send_whatsapp_many([whatsapp(2)])
        await transport.aclose()
        return results

    assert asyncio.run(main()) == [
        Delivered(provider_id="captured:msg:1"),
        Delivered(provider_id="captured:wa:2"),
    ]
    assert SmsCaptureTransport.needs_bodies is False


def test_settings_from_a_production_url() -> None:
    settings = ProviderSettings.from_url(
        f"twilio+https://{SID}:{TOKEN_IN_URL}@api.twilio.com"
        "?from=%2B15550001111&whatsapp_from=%2B15550002222"
    )

    assert settings.base_url == "https://api.twilio.com"
    assert (settings.account_sid, settings.auth_token) == (SID, TOKEN)
    assert (settings.sms_from, settings.whatsapp_from) == ("+15550001111", "+15550002222")
    assert settings.messages_url == f"https://api.twilio.com{PATH}"
    assert TOKEN not in repr(settings) and SID in repr(settings)


def test_settings_keep_an_explicit_port() -> None:
    settings = ProviderSettings.from_url(f"twilio+http://{SID}:x@127.0.0.1:8080")

    assert settings.base_url == "http://127.0.0.1:8080"
    assert settings.sms_from is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (f"https://{SID}:{TOKEN_IN_URL}@api.twilio.com", "scheme 'https'"),
        (f"twilio+https://{SID}:{TOKEN_IN_URL}@api.twilio.com/v1", "path"),
        (f"twilio+https://{SID}:{TOKEN_IN_URL}@api.twilio.com?sender=x", "option 'sender'"),
        (f"twilio+https://{SID}@api.twilio.com", "auth token is empty"),
        (f"twilio+https://:{TOKEN_IN_URL}@api.twilio.com", "account SID is empty"),
        (f"twilio+https://{SID}:{TOKEN_IN_URL}@api.twilio.com:99999", "port"),
        (f"twilio+https://{SID}:{TOKEN_IN_URL}@", "no host"),
    ],
)
def test_bad_urls_are_refused_without_repeating_the_token(url: str, words: str) -> None:
    with pytest.raises(ValueError, match="SMS provider") as caught:
        ProviderSettings.from_url(url)

    assert words in str(caught.value)
    assert TOKEN_IN_URL not in str(caught.value) and TOKEN not in str(caught.value)


@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
def test_each_result_is_reported_as_its_answer_comes_not_after_the_batch(
    server: HttpServer, channel: str
) -> None:
    """The dispatcher records what the provider accepted while slower answers are still
    awaited, so a kill re-sends only those (docs/architecture.md, "Failure model")."""
    slow = "+4915100000009" if channel == "sms" else "whatsapp:+4915100000009"  # message 9
    server.answer = lambda request: Reply(
        status=201, json={"sid": "SM1"}, delay=1.5 if request.form()["To"] == slow else 0
    )
    reported: list[tuple[float, int]] = []
    started = time.monotonic()

    def on_result(index: int, _: Delivered | DeliveryError) -> None:
        reported.append((time.monotonic() - started, index))

    async def scenario(transport: TwilioTransport) -> list[Delivered | DeliveryError]:
        if channel == "sms":
            return await transport.send_sms_many([sms(n) for n in range(10)], on_result=on_result)
        messages = [
            OutgoingWhatsApp(
                key=f"wa:{n}", sender="", recipient=f"+4915100000{n:03}", template="HX1"
            )
            for n in range(10)
        ]
        return await transport.send_whatsapp_many(messages, on_result=on_result)

    results = run(
        settings_for(server, query="from=%2B15550001111&whatsapp_from=%2B15550002222"), scenario
    )

    assert all(isinstance(r, Delivered) for r in results)
    assert sorted(i for _, i in reported) == list(range(10))  # each once
    early = [i for at, i in reported if at < 1.0]
    assert sorted(early) == [n for n in range(10) if n != 9], reported  # not held by the slow one
    assert reported[-1][1] == 9
