"""Messages beyond the plain email, end to end through the engine and the dispatcher on both
databases: SMS and WhatsApp through TwilioTransport to a real HTTP server on loopback,
internal notifications and the email extras (preview text, List-Unsubscribe) through a real
SMTP server on loopback."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa

from journeyman import links
from journeyman.app import App
from journeyman.channels.capture import CaptureTransport
from journeyman.channels.sms import ProviderSettings, TwilioTransport
from journeyman.channels.smtp import SmtpSettings, SmtpTransport
from journeyman.clock import FakeClock
from journeyman.config import Settings
from journeyman.engine.dispatch import Dispatcher, EmailTransport, TextTransport
from journeyman.model.contacts import AttributeDefinition, AttributeType
from journeyman.model.retry import RetryPolicy
from journeyman.services.events import EventInput
from journeyman.store import transaction
from journeyman.store.contacts import ContactInput
from journeyman.store.schema import contacts, messages, run_log, runs
from loopback import EphemeralController

from .delivery_support import MailServer
from .http_server import HttpServer, RecordedRequest, Reply

SID, TOKEN = "AC0123456789", "s3cret-token"
SMS_FROM, WHATSAPP_FROM = "+15550001111", "+15550002222"
JANE, BOB, EVE = "jane@example.com", "bob@example.com", "eve@example.com"
JANE_SMS, JANE_WHATSAPP, EVE_SMS = "+4915112345678", "+4915187654321", "+4917600000001"
PUBLIC_URL = "https://journeyman.example.com/"


@pytest.fixture
def server() -> Iterator[HttpServer]:
    with HttpServer() as server:
        yield server


def provider(server: HttpServer) -> TwilioTransport:
    url = (
        f"twilio+http://{SID}:{TOKEN}@127.0.0.1:{server.port}"
        f"?from=%2B{SMS_FROM[1:]}&whatsapp_from=%2B{WHATSAPP_FROM[1:]}"
    )
    return TwilioTransport(ProviderSettings.from_url(url), timeout=5)


def cycle(
    app: App, email: EmailTransport | None = None, texts: TextTransport | None = None
) -> None:
    """Engine ticks and dispatch batches until neither has anything due; the transports are
    closed afterwards."""

    async def main() -> None:
        stepper = app.stepper()
        transport = email or CaptureTransport()
        dispatcher = Dispatcher(app.engine, transport, app.clock, texts=texts)
        try:
            while True:
                busy = False
                while not stepper.tick().idle:
                    busy = True
                while await dispatcher.dispatch_once():
                    busy = True
                if not busy:
                    return
        finally:
            await dispatcher.close_transports()
            await transport.aclose()

    asyncio.run(main())


def outbox_rows(app: App, channel: str) -> Sequence[sa.Row[Any]]:
    with transaction(app.engine) as connection:
        return connection.execute(
            sa.select(messages, contacts.c.email.label("contact_email"))
            .join(contacts, contacts.c.id == messages.c.contact_id)
            .where(messages.c.channel == channel)
            .order_by(messages.c.id)
        ).all()


def run_statuses(app: App) -> set[str]:
    with transaction(app.engine) as connection:
        return {r.status for r in connection.execute(sa.select(runs.c.status))}


def log_of(app: App) -> Sequence[sa.Row[Any]]:
    with transaction(app.engine) as connection:
        return connection.execute(
            sa.select(run_log, contacts.c.email)
            .join(runs, runs.c.id == run_log.c.run_id)
            .join(contacts, contacts.c.id == runs.c.contact_id)
            .order_by(run_log.c.id)
        ).all()


def order(app: App, *emails: str, order_id: str = "A-17") -> None:
    app.record_events(
        [EventInput(name="order", email=e, properties={"order_id": order_id}) for e in emails]
    )


# --- SMS and WhatsApp ---------------------------------------------------------------------

TEXTS: dict[str, Any] = {
    "key": "order-texts",
    "name": "Text about the order",
    "entry_points": [{"event": "order"}],
    "steps": [
        {
            "id": "text_them",
            "send_sms": {
                "text": "Hi {{ contact.FIRSTNAME }}, order {{ event.properties.order_id }} shipped"
            },
            "next": "whatsapp",
        },
        {
            "id": "whatsapp",
            "send_whatsapp": {
                "template": "HX0000order_shipped",
                "parameters": ["{{ contact.FIRSTNAME }}", "{{ event.properties.order_id }}"],
            },
        },
    ],
}


def texting_contacts(app: App) -> None:
    """Jane has both numbers, Bob none, Eve an SMS number but is blocklisted for SMS."""
    app.apply_workflow(TEXTS)
    app.upsert_contacts(
        [
            ContactInput(
                email=JANE, attributes={"FIRSTNAME": "Jane"}, sms=JANE_SMS, whatsapp=JANE_WHATSAPP
            ),
            ContactInput(email=BOB, attributes={"FIRSTNAME": "Bob"}),
            ContactInput(email=EVE, attributes={"FIRSTNAME": "Eve"}, sms=EVE_SMS, whatsapp=EVE_SMS),
        ]
    )
    with transaction(app.engine) as connection:
        connection.execute(
            sa.update(contacts).where(contacts.c.email == EVE).values(sms_blocklisted=True)
        )


def twilio_answers(server: HttpServer) -> None:
    server.answer = lambda request: Reply(
        status=201, json={"sid": f"SM{len(server.requests):04d}", "status": "queued"}
    )


def basic_auth(request: RecordedRequest) -> str:
    kind, _, encoded = request.headers["authorization"].partition(" ")
    assert kind == "Basic"
    return base64.b64decode(encoded).decode()


def test_sms_and_whatsapp_reach_the_provider_and_the_others_are_suppressed(
    app: App, server: HttpServer
) -> None:
    texting_contacts(app)
    twilio_answers(server)
    order(app, JANE, BOB, EVE)

    cycle(app, texts=provider(server))

    sms_rows = {r.contact_email: r for r in outbox_rows(app, "sms")}
    whatsapp_rows = {r.contact_email: r for r in outbox_rows(app, "whatsapp")}
    assert len(server.requests) == 2, "only Jane has a number she may be texted at"
    by_token = {r.headers["i-twilio-idempotency-token"]: r for r in server.requests}
    assert set(by_token) == {sms_rows[JANE].idempotency_key, whatsapp_rows[JANE].idempotency_key}
    for request in server.requests:
        assert (request.method, request.path) == (
            "POST",
            f"/2010-04-01/Accounts/{SID}/Messages.json",
        )
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert basic_auth(request) == f"{SID}:{TOKEN}"

    sms = by_token[sms_rows[JANE].idempotency_key]
    assert sms.form() == {"To": JANE_SMS, "From": SMS_FROM, "Body": "Hi Jane, order A-17 shipped"}
    whatsapp = by_token[whatsapp_rows[JANE].idempotency_key]
    form = whatsapp.form()
    assert json.loads(form.pop("ContentVariables")) == {"1": "Jane", "2": "A-17"}
    assert form == {
        "To": f"whatsapp:{JANE_WHATSAPP}",
        "From": f"whatsapp:{WHATSAPP_FROM}",
        "ContentSid": "HX0000order_shipped",
    }

    jane_sms, jane_whatsapp = sms_rows[JANE], whatsapp_rows[JANE]
    assert (jane_sms.status, jane_sms.recipient, jane_sms.text) == (
        "sent",
        JANE_SMS,
        "Hi Jane, order A-17 shipped",
    )
    assert re.fullmatch(r"SM\d{4}", jane_sms.provider_id)
    assert (jane_whatsapp.status, jane_whatsapp.recipient) == ("sent", JANE_WHATSAPP)
    assert jane_whatsapp.payload == {
        "template": "HX0000order_shipped",
        "parameters": ["Jane", "A-17"],
    }
    assert re.fullmatch(r"SM\d{4}", jane_whatsapp.provider_id)
    assert jane_whatsapp.provider_id != jane_sms.provider_id

    no_number = "contact has no number for this channel"
    blocked = "contact is blocklisted for SMS"
    for rows, contact, reason in (
        (sms_rows, BOB, no_number),
        (whatsapp_rows, BOB, no_number),
        (sms_rows, EVE, blocked),
        (whatsapp_rows, EVE, blocked),
    ):
        row = rows[contact]
        assert (row.status, row.reason, row.attempts) == ("suppressed", reason, 0), contact
        assert row.next_attempt_at is None and row.sent_at is None
    assert sms_rows[BOB].recipient is None

    log = {(r.email, r.step_id): r for r in log_of(app)}
    assert (log[JANE, "text_them"].result, log[JANE, "text_them"].reason) == (
        "queued",
        f"sms queued for {JANE_SMS}",
    )
    assert log[JANE, "whatsapp"].result == "queued"
    assert (log[BOB, "text_them"].result, log[BOB, "text_them"].reason) == ("suppressed", no_number)
    assert (log[EVE, "whatsapp"].result, log[EVE, "whatsapp"].reason) == ("suppressed", blocked)
    assert run_statuses(app) == {"completed"}, "a suppressed message does not stop the run"


def test_a_throttled_sms_is_retried_later_with_the_same_idempotency_token(
    app: App, server: HttpServer, clock: FakeClock
) -> None:
    texting_contacts(app)
    server.reply(Reply(status=429, json={"code": 20429, "message": "Too Many Requests"}))
    twilio_answers(server)
    order(app, JANE)

    cycle(app, texts=provider(server))

    first = {r.channel: r for r in [*outbox_rows(app, "sms"), *outbox_rows(app, "whatsapp")]}
    throttled = [r for r in first.values() if r.status == "queued"]
    assert len(throttled) == 1 and "429" in throttled[0].reason
    assert throttled[0].next_attempt_at == clock.now() + RetryPolicy().base

    clock.advance(RetryPolicy().base)
    cycle(app, texts=provider(server))

    tokens = [r.headers["i-twilio-idempotency-token"] for r in server.requests]
    assert len(tokens) == 3 and tokens[0] == tokens[2] == throttled[0].idempotency_key
    retried = next(r for r in outbox_rows(app, throttled[0].channel) if r.contact_email == JANE)
    assert (retried.status, retried.attempts) == ("sent", 2)


def test_without_a_provider_texts_are_captured_in_the_outbox(app: App) -> None:
    texting_contacts(app)
    order(app, JANE)

    cycle(app)

    (sms,) = [r for r in outbox_rows(app, "sms") if r.contact_email == JANE]
    assert (sms.status, sms.provider_id) == ("sent", f"captured:{sms.idempotency_key}")


# --- notifications ------------------------------------------------------------------------

NOTIFY = {
    "key": "tell-the-team",
    "name": "Tell the team about big orders",
    "entry_points": [{"event": "order"}],
    "steps": [
        {
            "id": "tell_team",
            "send_notification": {
                "to": ["Sales@Example.com"],
                "to_owner": True,
                "to_attribute": "manager_email",
            },
        }
    ],
}


def smtp(server: MailServer) -> SmtpTransport:
    return SmtpTransport(SmtpSettings.from_url(server.url))


def test_a_notification_goes_to_fixed_addresses_the_owner_and_an_attribute(
    app: App, mail_server: MailServer
) -> None:
    app.define_attribute(AttributeDefinition(name="MANAGER_EMAIL", type=AttributeType.TEXT))
    app.apply_workflow(NOTIFY)
    app.upsert_contacts(
        [
            ContactInput(email=JANE, attributes={"MANAGER_EMAIL": "Mgr@Example.com"}),
            ContactInput(email=BOB, attributes={"MANAGER_EMAIL": "not an address"}),
        ]
    )
    owner = app.create_user("Olivia Owner", "olivia@example.com")
    with transaction(app.engine) as connection:
        connection.execute(
            sa.update(contacts).where(contacts.c.email == JANE).values(owner_id=owner)
        )
    order(app, JANE, BOB)

    cycle(app, email=smtp(mail_server))

    rows = outbox_rows(app, "email")
    sent = sorted((r.contact_email, r.recipient) for r in rows)
    assert sent == [
        (BOB, "sales@example.com"),
        (JANE, "mgr@example.com"),
        (JANE, "olivia@example.com"),
        (JANE, "sales@example.com"),
    ]
    assert {r.status for r in rows} == {"sent"}
    assert all(r.headers is None for r in rows), "internal mail has no List-Unsubscribe"
    delivered = []
    for mail in mail_server.handler.mails():
        subject = str(mail.message["Subject"])
        about = subject.partition(" ")[0]
        assert subject == f"{about} reached tell_team in workflow tell-the-team"
        text = mail.body("plain")
        assert about in text and "tell-the-team" in text and "tell_team" in text
        assert about in mail.body("html")
        delivered += [(about, recipient) for recipient in mail.recipients]
    assert sorted(delivered) == sent, "each notification names the contact it is about"
    log = {r.email: r for r in log_of(app)}
    assert log[JANE].result == "queued"
    assert log[JANE].reason == "notified sales@example.com, olivia@example.com, mgr@example.com"
    assert log[BOB].result == "queued"
    assert "the contact has no owner" in log[BOB].reason
    assert "MANAGER_EMAIL holds no email address ('not an address')" in log[BOB].reason
    assert run_statuses(app) == {"completed"}


def test_a_notification_to_an_attribute_that_does_not_exist_is_refused_at_apply(
    app: App,
) -> None:
    from journeyman.errors import InvalidWorkflow

    with pytest.raises(InvalidWorkflow) as refused:
        app.apply_workflow(NOTIFY)

    (problem,) = refused.value.problems
    assert problem.step == "tell_team" and "MANAGER_EMAIL" in problem.message


# --- email extras: preview text, List-Unsubscribe -----------------------------------------

NEWSLETTER: dict[str, Any] = {
    "key": "spring-sale",
    "name": "Spring sale",
    "entry_points": [{"event": "order"}],
    "steps": [
        {
            "id": "announce",
            "send_email": {
                "from": "Shop <news@shop.example.com>",
                "subject": "Spring sale",
                "preview_text": "20% off everything until Sunday",
                "html": "<html><head><title>t</title></head><body><p>Hello</p></body></html>",
                "text": "Hello",
            },
            "next": "receipt",
        },
        {
            "id": "receipt",
            "send_email": {
                "from": "Shop <shop@example.com>",
                "subject": "Your receipt",
                "html": "<p>Receipt</p>",
                "unsubscribe": False,
            },
        },
    ],
}
PREHEADER = (
    '<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">'
    "20% off everything until Sunday</div>"
)


def with_public_url(app: App) -> App:
    """The same database and clock, with JOURNEYMAN_PUBLIC_URL set."""
    return App(
        app.engine,
        clock=app.clock,
        settings=dataclasses.replace(app.settings, public_url=PUBLIC_URL),
    )


def secret(app: App) -> bytes:
    return app.keys.current()


def unsubscribe_token(value: str, pattern: str) -> str:
    found = re.search(pattern, value)
    assert found is not None, value
    return found.group(1)


def test_preview_text_and_a_mailto_list_unsubscribe_without_a_public_url(
    app: App, mail_server: MailServer
) -> None:
    app.apply_workflow(NEWSLETTER)
    app.upsert_contacts([ContactInput(email=JANE)])
    order(app, JANE)

    cycle(app, email=smtp(mail_server))

    announce, receipt = outbox_rows(app, "email")
    assert announce.html.startswith(
        f"<html><head><title>t</title></head><body>{PREHEADER}<p>Hello</p>"
    )
    assert set(announce.headers) == {"List-Unsubscribe"}
    value = announce.headers["List-Unsubscribe"]
    token = unsubscribe_token(
        value, r"^<mailto:unsubscribe@shop\.example\.com\?subject=unsubscribe%20([\w.-]+)>$"
    )
    assert links.verify(secret(app), "unsubscribe", token) == (
        announce.contact_id,
        announce.idempotency_key,
    )
    assert receipt.headers is None and "display:none" not in receipt.html

    by_subject = {str(m.message["Subject"]): m for m in mail_server.handler.mails()}
    mail = by_subject["Spring sale"]
    assert str(mail.message["List-Unsubscribe"]) == value
    assert mail.message["List-Unsubscribe-Post"] is None
    assert PREHEADER in mail.body("html")
    assert mail.body("plain").strip() == "Hello"
    assert by_subject["Your receipt"].message["List-Unsubscribe"] is None


def test_with_a_public_url_the_one_click_form_is_offered_and_its_token_verifies(
    app: App, mail_server: MailServer
) -> None:
    public = with_public_url(app)
    public.apply_workflow(NEWSLETTER)
    public.upsert_contacts([ContactInput(email=JANE)])
    order(public, JANE)

    cycle(public, email=smtp(mail_server))

    announce, _ = outbox_rows(app, "email")
    value = announce.headers["List-Unsubscribe"]
    assert announce.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https_token = unsubscribe_token(
        value, r"^<https://journeyman\.example\.com/unsubscribe/([\w.-]+)>, <mailto:"
    )
    mailto_token = unsubscribe_token(value, r"subject=unsubscribe%20([\w.-]+)>$")
    assert https_token == mailto_token
    expected = (announce.contact_id, announce.idempotency_key)
    assert links.verify(secret(app), "unsubscribe", https_token) == expected

    body, _, mac = https_token.rpartition(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    forged_body = base64.urlsafe_b64encode(b"999.1:announce:0").decode().rstrip("=")
    for tampered in (
        f"{body}.{flipped}",
        f"{forged_body}.{mac}",
        f"{body}.{mac}é",
        https_token[1:],
    ):
        assert links.verify(secret(app), "unsubscribe", tampered) is None, tampered
    assert links.verify(b"another secret", "unsubscribe", https_token) is None
    assert links.verify(secret(app), "tracking", https_token) is None

    (mail,) = [m for m in mail_server.handler.mails() if str(m.message["Subject"]) == "Spring sale"]
    assert str(mail.message["List-Unsubscribe"]) == value
    assert str(mail.message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"


@dataclass
class RawHandler:
    """Keeps every message exactly as it came over the wire."""

    received: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def raw_mail_server() -> Iterator[tuple[RawHandler, str]]:
    handler = RawHandler()
    controller = EphemeralController(handler, hostname="127.0.0.1", server_hostname="mx.test")
    controller.start()
    try:
        yield handler, f"smtp://127.0.0.1:{controller.port}?timeout=10"
    finally:
        controller.stop()


def raw_header(raw: bytes, name: str) -> str:
    """A header as it went over the wire, unfolded, not decoded."""
    head = raw.decode("ascii", errors="replace").split("\r\n\r\n", 1)[0]
    line = r"[^\r\n]*"
    match = re.search(rf"^{name}:({line}(?:\r\n[ \t]{line})*)", head, re.MULTILINE | re.IGNORECASE)
    assert match is not None, f"no {name} header in:\n{head}"
    return re.sub(r"\r\n([ \t])", r"\1", match.group(1)).strip()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_list_unsubscribe_goes_over_the_wire_as_plain_urls(
    app: App, raw_mail_server: tuple[RawHandler, str]
) -> None:
    """RFC 2369: the header is a list of <URL>s, which mailbox providers read as they are;
    RFC 2047 encoded words are not allowed there."""
    handler, url = raw_mail_server
    public = with_public_url(app)
    public.apply_workflow(NEWSLETTER)
    public.upsert_contacts([ContactInput(email=JANE)])
    order(public, JANE)

    cycle(public, email=SmtpTransport(SmtpSettings.from_url(url)))

    announce, _ = outbox_rows(app, "email")
    (raw,) = [m for m in handler.received if b"\r\nSubject: Spring sale\r\n" in m]
    on_the_wire = raw_header(raw, "List-Unsubscribe")
    assert "=?" not in on_the_wire, on_the_wire
    assert on_the_wire == announce.headers["List-Unsubscribe"]
    assert raw_header(raw, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"


def test_the_environment_configures_the_provider_and_the_public_url(
    app: App, server: HttpServer
) -> None:
    """App.dispatcher and App.stepper as `journeyman run` builds them, from JOURNEYMAN_*."""
    settings = Settings.from_env(
        {
            "JOURNEYMAN_SMS_URL": f"twilio+http://{SID}:{TOKEN}@127.0.0.1:{server.port}"
            f"?from=%2B{SMS_FROM[1:]}",
            "JOURNEYMAN_PUBLIC_URL": PUBLIC_URL,
        }
    )
    configured = App(app.engine, clock=app.clock, settings=settings)
    configured.apply_workflow(
        {
            **TEXTS,
            "steps": [
                {**TEXTS["steps"][0], "next": "announce"},
                {**NEWSLETTER["steps"][0], "next": "end"},
            ],
        }
    )
    configured.upsert_contacts([ContactInput(email=JANE, sms=JANE_SMS)])
    twilio_answers(server)
    order(configured, JANE)

    configured.run_until_idle(CaptureTransport())

    (request,) = server.requests
    assert request.form()["To"] == JANE_SMS and request.form()["From"] == SMS_FROM
    (sms,) = outbox_rows(app, "sms")
    assert (sms.status, sms.provider_id) == ("sent", "SM0001")
    (email,) = outbox_rows(app, "email")
    assert email.headers["List-Unsubscribe"].startswith(f"<{PUBLIC_URL}unsubscribe/")
    assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
