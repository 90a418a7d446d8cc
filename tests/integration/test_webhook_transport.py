"""WebhookTransport against a real HTTP server on loopback: request shape, signing, answers,
failures, and the guard against calls into private networks."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from journeyman.channels.webhook import WebhookHttpError, WebhookTransport, refusal, verify
from journeyman.clock import UTC, FakeClock
from journeyman.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from journeyman.model.messages import WebhookRequest, WebhookResponse

from .http_server import HttpServer, Reply

NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
LOOPBACK = ("127.0.0.0/8",)
SECRET_KEY = b"journeyman-test-signing-key\x00\xff"
SECRET = "whsec_" + base64.b64encode(SECRET_KEY).decode()

Result = WebhookResponse | DeliveryError


@pytest.fixture
def server() -> Iterator[HttpServer]:
    with HttpServer() as server:
        yield server


def request(url: str, **fields: Any) -> WebhookRequest:
    values: dict[str, Any] = {"key": "run:1:step:notify", "method": "POST", "timeout": 5.0}
    return WebhookRequest(url=url, **(values | fields))


def call(
    requests: Sequence[WebhookRequest],
    *,
    allow: Sequence[str] = LOOPBACK,
    clock: FakeClock | None = None,
) -> list[Result]:
    async def main() -> list[Result]:
        async with WebhookTransport(allow_networks=allow, clock=clock or FakeClock(NOW)) as t:
            return await t.call_many(requests)

    return asyncio.run(main())


def call_one(webhook: WebhookRequest, **options: Any) -> Result:
    (result,) = call([webhook], **options)
    return result


def response(result: Result) -> WebhookResponse:
    assert isinstance(result, WebhookResponse), result
    return result


# --- the request --------------------------------------------------------------------------


def test_method_url_headers_and_json_body_arrive_as_given(server: HttpServer) -> None:
    body = {"email": "jane@example.com", "amount": 12.5, "name": "Jürgen", "tags": [1, None]}
    webhook = request(
        server.url("/hooks/crm?source=journeyman"),
        method="put",
        headers={"X-Api-Key": "k-123", "Accept": "application/json"},
        body=body,
    )

    response(call_one(webhook))

    (received,) = server.requests
    assert (received.method, received.path) == ("PUT", "/hooks/crm?source=journeyman")
    assert received.json() == body
    assert received.headers["content-type"] == "application/json"
    assert received.headers["x-api-key"] == "k-123"
    assert received.headers["accept"] == "application/json"
    assert received.headers["idempotency-key"] == "run:1:step:notify"
    assert received.headers["host"] == f"127.0.0.1:{server.port}"
    assert not {"webhook-id", "webhook-timestamp", "webhook-signature"} & set(received.headers)


def test_a_caller_content_type_is_kept(server: HttpServer) -> None:
    webhook = request(server.url(), headers={"Content-Type": "application/vnd.crm+json"}, body=[])

    call_one(webhook)

    assert server.requests[0].headers["content-type"] == "application/vnd.crm+json"


def test_a_request_without_body_sends_none(server: HttpServer) -> None:
    call_one(request(server.url("/ping"), method="GET"))

    (received,) = server.requests
    assert (received.method, received.body) == ("GET", b"")
    assert "content-type" not in received.headers


def test_the_signature_verifies_with_verify_and_with_an_independent_hmac(
    server: HttpServer,
) -> None:
    webhook = request(server.url(), body={"contact": 7, "text": "Grüße"}, secret=SECRET)

    call_one(webhook)

    headers, body = server.requests[0].headers, server.requests[0].body
    assert headers["webhook-id"] == headers["idempotency-key"] == "run:1:step:notify"
    assert headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert verify(
        SECRET,
        headers["webhook-id"],
        headers["webhook-timestamp"],
        body,
        headers["webhook-signature"],
        now=int(NOW.timestamp()),
    )
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    digest = hmac.new(SECRET_KEY, signed, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()


def test_a_plain_string_secret_signs_with_its_utf8_bytes(server: HttpServer) -> None:
    call_one(request(server.url(), body={"a": 1}, secret="not-prefixed"))

    headers, body = server.requests[0].headers, server.requests[0].body
    signed = f"run:1:step:notify.{headers['webhook-timestamp']}.".encode() + body
    digest = hmac.new(b"not-prefixed", signed, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()


def test_a_second_call_keeps_the_key_and_signs_a_fresh_timestamp(server: HttpServer) -> None:
    clock = FakeClock(NOW)
    webhook = request(server.url(), body={"n": 1}, secret=SECRET)

    call_one(webhook, clock=clock)
    clock.advance(dt.timedelta(minutes=5))
    call_one(webhook, clock=clock)

    first, second = (r.headers for r in server.requests)
    assert first["idempotency-key"] == second["idempotency-key"] == "run:1:step:notify"
    assert first["webhook-id"] == second["webhook-id"] == "run:1:step:notify"
    assert int(second["webhook-timestamp"]) - int(first["webhook-timestamp"]) == 300
    for received in server.requests:
        h = received.headers
        assert verify(
            SECRET, h["webhook-id"], h["webhook-timestamp"], received.body, h["webhook-signature"]
        )


# --- the answer ---------------------------------------------------------------------------


def test_a_json_answer_is_parsed(server: HttpServer) -> None:
    server.reply(Reply(status=201, json={"score": 42, "tier": "gold"}, headers={"X-Req": "r1"}))

    answer = response(call_one(request(server.url())))

    assert (answer.status, answer.ok) == (201, True)
    assert answer.json == {"score": 42, "tier": "gold"}
    assert answer.text == '{"score": 42, "tier": "gold"}'
    assert answer.headers["x-req"] == "r1"


def test_a_non_json_answer_keeps_its_text(server: HttpServer) -> None:
    server.reply(Reply(body="<h1>thanks</h1>", headers={"Content-Type": "text/html"}))

    answer = response(call_one(request(server.url())))

    assert (answer.status, answer.json, answer.text) == (200, None, "<h1>thanks</h1>")


@pytest.mark.parametrize(
    ("content_type", "text"),
    [("text/plain; charset=iso-8859-1", "cafÃ©"), ("text/plain; charset=x-martian", "café")],
)
def test_the_text_is_decoded_with_the_declared_charset(
    server: HttpServer, content_type: str, text: str
) -> None:
    server.reply(Reply(body="café".encode(), headers={"Content-Type": content_type}))

    assert response(call_one(request(server.url()))).text == text


def test_a_404_is_an_answer_not_an_error(server: HttpServer) -> None:
    server.reply(Reply(status=404, json={"error": "no such contact"}))

    answer = response(call_one(request(server.url())))

    assert (answer.status, answer.ok, answer.json) == (404, False, {"error": "no such contact"})


def test_a_redirect_is_not_followed(server: HttpServer) -> None:
    server.reply(Reply(status=302, headers={"Location": server.url("/elsewhere")}))

    answer = response(call_one(request(server.url("/hook"))))

    assert answer.status == 302
    assert answer.headers["location"] == server.url("/elsewhere")
    assert [r.path for r in server.requests] == ["/hook"]


def test_a_long_answer_is_parsed_whole_and_its_text_cut_to_64_kib(server: HttpServer) -> None:
    items = [f"item-{n:06}" for n in range(20_000)]  # about 300 KB of JSON
    server.reply(Reply(json=items))

    answer = response(call_one(request(server.url())))

    assert answer.json == items
    assert len(answer.text) == 64 * 1024


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_transient_with_its_status(server: HttpServer, status: int) -> None:
    server.reply(Reply(status=status, json={"error": "down"}))

    result = call_one(request(server.url()))

    assert isinstance(result, WebhookHttpError) and isinstance(result, TransientDeliveryError)
    assert result.retryable
    assert result.status == status
    assert f"HTTP {status}" in str(result) and "run:1:step:notify" in str(result)


def test_a_429_is_transient_and_keeps_retry_after(server: HttpServer) -> None:
    server.reply(Reply(status=429, headers={"Retry-After": "7"}))

    result = call_one(request(server.url()))

    assert isinstance(result, WebhookHttpError)
    assert (result.status, result.retry_after) == (429, 7.0)


def test_a_retry_after_date_counts_from_the_answer_date(server: HttpServer) -> None:
    server.reply(
        Reply(
            status=503,
            headers={
                "Date": "Mon, 04 Jan 2027 09:00:00 GMT",
                "Retry-After": "Mon, 04 Jan 2027 09:02:00 GMT",
            },
        )
    )

    result = call_one(request(server.url()))

    assert isinstance(result, WebhookHttpError)
    assert result.retry_after == 120.0


def test_a_slow_server_is_a_timeout(server: HttpServer) -> None:
    server.reply(Reply(json={"late": True}, delay=3))
    started = time.monotonic()

    result = call_one(request(server.url(), timeout=0.3))

    assert isinstance(result, WebhookHttpError)
    assert result.status is None
    assert "no answer within 0.3 s" in str(result)
    assert time.monotonic() - started < 2


def test_a_closed_port_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = call_one(request(f"http://127.0.0.1:{port}/hook"))

    assert isinstance(result, WebhookHttpError)
    assert result.status is None


def test_many_calls_answer_in_order_and_each_fails_alone(server: HttpServer) -> None:
    def answer(received: Any) -> Reply:
        n = received.json()["n"]
        return Reply(status=500) if n == 13 else Reply(json={"n": n}, delay=0.02)

    server.answer = answer
    webhooks = [request(server.url(), key=f"k{n}", body={"n": n}) for n in range(30)]

    results = call(webhooks)

    for n, result in enumerate(results):
        if n == 13:
            assert isinstance(result, WebhookHttpError) and result.status == 500
        else:
            assert response(result).json == {"n": n}
    assert 1 < server.max_in_flight <= 10


# --- refused before sending ---------------------------------------------------------------


def test_a_body_that_is_not_json_is_permanent(server: HttpServer) -> None:
    result = call_one(request(server.url(), body={"when": {1, 2}}))

    assert isinstance(result, PermanentDeliveryError)
    assert server.requests == []


def test_a_bad_secret_is_permanent(server: HttpServer) -> None:
    result = call_one(request(server.url(), body={}, secret="whsec_???"))

    assert isinstance(result, PermanentDeliveryError)
    assert "base64" in str(result)
    assert server.requests == []


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/file", "file:///etc/passwd", "127.0.0.1:80"])
def test_only_http_and_https_urls_are_called(url: str) -> None:
    result = call_one(request(url))

    assert isinstance(result, PermanentDeliveryError)
    assert "expected http or https" in str(result)


def test_loopback_is_refused_unless_allowed(server: HttpServer) -> None:
    refused = call_one(request(server.url()), allow=())
    narrow = call_one(request(server.url()), allow=("127.0.0.2/32", "10.0.0.0/8"))
    allowed = call_one(request(server.url()), allow=("127.0.0.0/8",))

    for result in (refused, narrow):
        assert isinstance(result, PermanentDeliveryError) and not result.retryable
        assert "127.0.0.1" in str(result) and "loopback" in str(result)
    assert response(allowed).status == 200
    assert len(server.requests) == 1  # the refused calls never reached the server


def test_ipv6_loopback_is_refused() -> None:
    result = call_one(request("http://[::1]:8080/hook"), allow=())

    assert isinstance(result, PermanentDeliveryError)
    assert "::1" in str(result) and "loopback" in str(result)


def test_ipv4_mapped_loopback_is_refused_even_with_ipv6_loopback_allowed() -> None:
    result = call_one(request("http://[::ffff:127.0.0.1]:8080/hook"), allow=("::1/128",))

    assert isinstance(result, PermanentDeliveryError)
    assert "::ffff:127.0.0.1" in str(result)


def test_the_cloud_metadata_address_is_refused_without_connecting() -> None:
    started = time.monotonic()

    result = call_one(request("http://169.254.169.254/latest/meta-data/", timeout=30), allow=())

    assert isinstance(result, PermanentDeliveryError)  # a connection attempt is transient
    assert "169.254.169.254" in str(result) and "link-local" in str(result)
    assert time.monotonic() - started < 2


def test_a_host_name_resolving_to_loopback_is_refused(server: HttpServer) -> None:
    result = call_one(request(server.url(host="localhost")), allow=())

    assert isinstance(result, PermanentDeliveryError)
    assert "'localhost'" in str(result) and "loopback" in str(result)
    assert server.requests == []


def test_an_allowed_host_name_keeps_its_host_header(server: HttpServer) -> None:
    # localhost may resolve to ::1 first, where nothing listens: the next address is tried.
    allow = ("127.0.0.0/8", "::1/128")

    answer = response(call_one(request(server.url("/h", host="localhost")), allow=allow))

    assert answer.status == 200
    assert server.requests[0].headers["host"] == f"localhost:{server.port}"


def test_the_error_message_hides_credentials_in_the_url() -> None:
    result = call_one(request("http://user:pa55@127.0.0.1:1/hook?token=s3cret"), allow=())

    assert isinstance(result, PermanentDeliveryError)
    assert "pa55" not in str(result) and "s3cret" not in str(result)


def test_a_bad_allowed_network_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match=r"'127\.0\.0\.1/33'.*CIDR"):
        WebhookTransport(allow_networks=["127.0.0.1/33"])


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "non-global"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),  # 6to4 wrapping 127.0.0.1
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_the_guard_classifies_addresses(address: str, reason: str | None) -> None:
    assert refusal(ipaddress.ip_address(address), ()) == reason


# --- HTTPS --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh self-signed certificate for ``localhost``, and a client
    context trusting only that certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(dt.datetime(2100, 1, 1, tzinfo=UTC))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_path, key_path)
    return server_context, ssl.create_default_context(cafile=str(cert_path))


def test_https_goes_to_the_host_name_with_its_certificate_checked(
    certificate: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_context, client_context = certificate

    async def main(url: str) -> tuple[list[Result], bool]:
        async with httpx.AsyncClient(verify=client_context) as client:
            transport = WebhookTransport(allow_networks=LOOPBACK, client=client)
            named = request(url.replace("127.0.0.1", "localhost"), body={"n": 1}, secret=SECRET)
            results = await transport.call_many([named, request(url)])
            await transport.aclose()
            return results, client.is_closed

    with HttpServer(tls=server_context) as server:
        server.answer = lambda _: Reply(json={"ok": True})
        (named, by_address), client_closed = asyncio.run(main(server.url("/secure")))

    assert response(named).json == {"ok": True}
    assert isinstance(by_address, WebhookHttpError)  # the certificate does not name 127.0.0.1
    assert "certificate" in str(by_address).lower()
    (received,) = server.requests
    assert received.headers["host"] == f"localhost:{server.port}"
    assert "webhook-signature" in received.headers
    assert not client_closed  # a client passed in stays the caller's
