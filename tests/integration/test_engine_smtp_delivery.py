"""The engine, the dispatcher and the real SMTP transport, delivering the example workflow's
emails to an aiosmtpd server on loopback, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import math
import re
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from command import journeyman_command
from journeyman.app import App
from journeyman.channels.senders import message_id
from journeyman.channels.smtp import SmtpSettings, SmtpTransport
from journeyman.clock import FakeClock
from journeyman.config import Settings
from journeyman.demo import example_path, load_demo_data
from journeyman.documents import load_document
from journeyman.engine.runner import RunSummary, run
from journeyman.model.retry import RetryPolicy
from journeyman.services.events import EventInput
from journeyman.store import transaction
from journeyman.store.contacts import ContactInput
from journeyman.store.schema import contacts, list_members, messages

from .delivery_support import MailServer, clean_environment

COUPON = re.compile(r"THANKS-[A-Z0-9]{4,}")


def deliver(app: App, server: MailServer) -> RunSummary:
    """Engine and dispatcher until idle, over a fresh SMTP transport closed afterwards."""

    async def main() -> RunSummary:
        transport = SmtpTransport(SmtpSettings.from_url(server.url))
        try:
            return await run(app.stepper(), app.dispatcher(transport), until_idle=True)
        finally:
            await transport.aclose()

    return asyncio.run(main())


def outbox_rows(app: App) -> dict[str, Any]:
    """Recipient -> its outbox row."""
    with transaction(app.engine) as connection:
        rows = connection.execute(sa.select(messages)).all()
    by_recipient = {r.recipient: r for r in rows}
    assert len(by_recipient) == len(rows), "one row per recipient"
    return by_recipient


def test_the_example_delivers_one_personal_coupon_per_contact_over_smtp(
    app: App, mail_server: MailServer
) -> None:
    count = 200
    purchases = load_demo_data(app, count)

    summary = deliver(app, mail_server)

    rows = outbox_rows(app)
    with transaction(app.engine) as connection:
        names = {
            r.email: r.attributes["FIRSTNAME"]
            for r in connection.execute(sa.select(contacts.c.email, contacts.c.attributes))
        }
        loyal = connection.execute(sa.select(sa.func.count()).select_from(list_members))
        loyal_members = loyal.scalar_one()
    mails = mail_server.handler.mails()
    assert summary.messages == count and summary.enrolled == purchases
    assert sorted(r for m in mails for r in m.recipients) == sorted(names), "one email each"
    assert all(len(m.recipients) == 1 for m in mails)
    assert set(rows) == set(names)
    codes = set()
    for mail in mails:
        row = rows[mail.recipients[0]]
        first_name = names[row.recipient]
        (code,) = set(COUPON.findall(row.text))
        codes.add(code)
        assert mail.message_id == message_id(row.idempotency_key, row.sender)
        assert (row.status, row.provider_id, row.attempts) == ("sent", mail.message_id, 1)
        assert f"Thank you, {first_name}:" in str(mail.message["Subject"])
        assert f"Hello {first_name}," in mail.body("plain")
        assert f"Hello {first_name}," in mail.body("html")
        assert code in mail.body("plain") and code in mail.body("html")
    assert len(codes) == count, "every contact gets their own code"
    assert loyal_members == math.ceil(count / 3)


def test_a_451_requeues_those_messages_with_backoff_until_the_clock_has_moved(
    app: App, mail_server: MailServer, clock: FakeClock
) -> None:
    load_demo_data(app, 12)
    greylisted = {f"customer{i:07d}@example.com" for i in (1, 4, 7)}
    gone = "customer0000010@example.com"
    mail_server.handler.refuse(
        {
            **{r: "451 4.7.1 greylisted, try again later" for r in greylisted},
            gone: "550 5.1.1 no such user",
        }
    )

    deliver(app, mail_server)

    rows = outbox_rows(app)
    delivered = {m.recipients[0] for m in mail_server.handler.mails()}
    assert delivered == set(rows) - greylisted - {gone}
    first_retry = clock.now() + RetryPolicy().base
    for recipient in greylisted:
        row = rows[recipient]
        assert (row.status, row.attempts) == ("queued", 1)
        assert clock.now() < row.next_attempt_at == first_retry
        assert "451" in row.reason
    assert (rows[gone].status, rows[gone].next_attempt_at) == ("failed", None)
    assert "550" in rows[gone].reason

    mail_server.handler.refuse({})
    clock.advance(RetryPolicy().base - dt.timedelta(seconds=1))
    deliver(app, mail_server)  # not due yet

    assert len(mail_server.handler.mails()) == len(delivered)

    clock.advance(dt.timedelta(seconds=1))
    deliver(app, mail_server)

    rows = outbox_rows(app)
    retried = mail_server.handler.mails()[len(delivered) :]
    assert sorted(m.recipients[0] for m in retried) == sorted(greylisted)
    for mail in retried:
        row = rows[mail.recipients[0]]
        assert (row.status, row.attempts) == ("sent", 2)
        assert mail.message_id == message_id(row.idempotency_key, row.sender)
    assert rows[gone].status == "failed", "a permanent failure is not retried"
    assert {r.status for r in rows.values()} == {"sent", "failed"}


def test_journeyman_run_delivers_through_journeyman_smtp_url(
    mail_server: MailServer, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    app = App.open(Settings(database_url=url))
    try:
        app.apply_workflow(load_document(example_path()))
        app.upsert_contacts(
            [ContactInput(email="jane@example.com", attributes={"FIRSTNAME": "Jane"})]
        )
        app.record_events(
            [EventInput(name="purchase", email="jane@example.com", properties={"amount": 49.9})]
        )
    finally:
        app.close()

    done = subprocess.run(
        [journeyman_command(), "--db", url, "run", "--until-idle"],
        cwd=tmp_path,
        env=clean_environment(JOURNEYMAN_SMTP_URL=mail_server.url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "1 messages delivered" in " ".join(done.stdout.split())
    (mail,) = mail_server.handler.mails()
    assert mail.recipients == ("jane@example.com",)
    assert "Hello Jane," in mail.body("html") and "49.9 EUR" in mail.body("html")
    app = App.open(Settings(database_url=url))
    try:
        row = outbox_rows(app)["jane@example.com"]
    finally:
        app.close()
    assert (row.status, row.provider_id) == ("sent", mail.message_id)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_run_until_idle_closes_the_smtp_connections_it_opened(
    app: App, mail_server: MailServer
) -> None:
    load_demo_data(app, 3)
    transport = SmtpTransport(SmtpSettings.from_url(mail_server.url))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app.run_until_idle(transport)
        del transport
        gc.collect()

    assert len(mail_server.handler.mails()) == 3
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == [], "App.run_until_idle left SMTP connections open on a closed event loop"
