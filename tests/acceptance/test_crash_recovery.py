"""A ``journeyman run --until-idle`` killed with SIGKILL and started again finishes the work
without emailing anyone twice: internal effects exactly once, email at least once outside
with a stable Message-ID."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from journeyman.app import App
from journeyman.channels.senders import message_id
from journeyman.channels.smtp import SmtpSettings, SmtpTransport
from journeyman.clock import FakeClock, SystemClock
from journeyman.config import Settings
from journeyman.demo import load_demo_data
from journeyman.engine.runner import run

from .cli_support import (
    Reader,
    SmtpServer,
    kill_when,
    start_logged,
)

CONTACTS = 6_000  # 8,000 purchases
SOAK_CONTACTS = 15_000  # 20,000 purchases (make soak)
# A step done, not put off: on a loaded machine a batch past its render time logs the runs it
# did not render as "deferred" (they try again a minute later, templating.DEFER_SECONDS).
STEP_DONE = "result <> 'deferred'"
SMTP_CONTACTS = 1_500  # the dispatcher's three batches of 500 (make soak: 3,000)
SOAK_SMTP_CONTACTS = 3_000
RUN = ("run", "--until-idle", "--batch-size", "100")


def prepare(url: str, contacts: int) -> int:
    """The example applied, ``contacts`` contacts and their purchases; the app closed."""
    app = App.open(Settings(database_url=url))
    try:
        return load_demo_data(app, contacts)
    finally:
        app.close()


def start(url: str, tmp_path: Path, name: str, **env: str) -> subprocess.Popen[bytes]:
    return start_logged(RUN, db=url, cwd=tmp_path, name=name, **env)


def finish(url: str, tmp_path: Path, name: str, **env: str) -> None:
    process = start(url, tmp_path, name, **env)
    code = process.wait(timeout=240)
    output = (tmp_path / f"{name}.log").read_text(errors="replace")
    assert code == 0, f"the restarted run exited {code}:\n{output}"


def deliver_later(url: str, smtp_url: str, clock: FakeClock) -> None:
    """Run engine and dispatcher in-process until idle at ``clock``'s time."""
    app = App.open(Settings(database_url=url), clock=clock)

    async def main() -> None:
        transport = SmtpTransport(SmtpSettings.from_url(smtp_url))
        try:
            await run(app.stepper(), app.dispatcher(transport), until_idle=True)
        finally:
            await transport.aclose()

    try:
        asyncio.run(main())
    finally:
        app.close()


def assert_everything_done_once(reader: Reader, contacts: int, purchases: int) -> None:
    assert reader.value("SELECT count(*) FROM contacts") == contacts
    assert dict(reader.rows("SELECT status, count(*) FROM runs GROUP BY status")) == {
        "completed": purchases
    }
    assert reader.value("SELECT count(*) FROM event_queue") == 0
    per_contact = reader.rows("SELECT contact_id, count(*) FROM messages GROUP BY contact_id")
    assert len(per_contact) == contacts, "every contact has an email"
    assert {n for _, n in per_contact} == {1}, "no contact has two emails"
    assert dict(reader.rows("SELECT status, count(*) FROM messages GROUP BY status")) == {
        "sent": contacts
    }
    loyal = reader.value(
        "SELECT count(*) FROM list_members JOIN lists ON lists.id = list_members.list_id "
        "WHERE lists.name = 'Loyal customers'"
    )
    assert loyal == math.ceil(contacts / 3)
    duplicates = reader.value(
        "SELECT count(*) FROM (SELECT run_id, seq FROM run_log GROUP BY run_id, seq "
        "HAVING count(*) > 1) AS d"
    )
    assert duplicates == 0
    assert reader.value(f"SELECT count(*) FROM run_log WHERE {STEP_DONE}") == 2 * purchases


@pytest.mark.slow
def test_a_killed_run_restarted_finishes_the_work_exactly_once(
    cli_db_url: str, tmp_path: Path, soak: bool
) -> None:
    url = cli_db_url
    contacts = SOAK_CONTACTS if soak else CONTACTS
    purchases = prepare(url, contacts)
    reader = Reader(url)
    try:
        completed = "SELECT count(*) FROM runs WHERE status = 'completed'"
        process = start(url, tmp_path, "first")
        kill_when(process, lambda: reader.value(completed) >= 1000, tmp_path, "first")

        # Partly done, and consistent: each finished step's effect is there exactly when its
        # log row is (one transaction), and every purchase is either queued or a run.
        done = reader.value(completed)
        assert 0 < done < purchases
        emails = reader.value("SELECT count(*) FROM messages")
        assert 0 < emails < contacts
        assert emails == reader.value(
            f"SELECT count(*) FROM run_log WHERE step_id = 'send_coupon' AND {STEP_DONE}"
        )
        assert reader.value("SELECT count(*) FROM list_members") == reader.value(
            "SELECT count(*) FROM run_log WHERE step_id = 'add_to_loyal'"
        )
        assert (
            reader.value("SELECT count(*) FROM runs")
            + reader.value("SELECT count(*) FROM event_queue")
            == purchases
        )

        print(f"killed with {done} of {purchases} runs completed, {emails} emails queued")
        finish(url, tmp_path, "second")

        assert_everything_done_once(reader, contacts, purchases)
    finally:
        reader.close()


@pytest.mark.slow
def test_killed_while_delivering_over_smtp_restarted_delivers_every_email(
    tmp_path: Path, cli_smtp_server: SmtpServer, soak: bool
) -> None:
    url = f"sqlite:///{tmp_path / 'crash-smtp.db'}"
    contacts = SOAK_SMTP_CONTACTS if soak else SMTP_CONTACTS
    purchases = prepare(url, contacts)
    server = cli_smtp_server
    reader = Reader(url)
    try:
        process = start(url, tmp_path, "first", JOURNEYMAN_SMTP_URL=server.url)
        # into the dispatcher's second batch (500 a batch): some delivered, some unrecorded
        kill_when(process, lambda: server.handler.count() >= 700, tmp_path, "first")
        received_before_restart = server.handler.count()
        assert 0 < received_before_restart < contacts

        finish(url, tmp_path, "second", JOURNEYMAN_SMTP_URL=server.url)
        not_sent = dict(
            reader.rows(
                "SELECT status, count(*) FROM messages WHERE status <> 'sent' GROUP BY status"
            )
        )

        if not_sent:
            # What the restart left behind is only delivered once its lease has run out; let
            # a later run take it (a fake clock past the lease) to check the outside view:
            # at least once, duplicates with the same Message-ID.
            later = SystemClock().now() + dt.timedelta(minutes=10)
            deliver_later(url, server.url, FakeClock(later))

        keys = {
            recipient: message_id(key, sender)
            for recipient, key, sender in reader.rows(
                "SELECT recipient, idempotency_key, sender FROM messages"
            )
        }
        arrivals = server.handler.snapshot()
        ids_by_recipient: dict[str, list[str]] = defaultdict(list)
        for arrival in arrivals:
            assert len(arrival.recipients) == 1
            ids_by_recipient[arrival.recipients[0]].append(arrival.message_id)
        assert set(ids_by_recipient) == set(keys), "every contact's email arrived"
        for recipient, ids in ids_by_recipient.items():
            assert set(ids) == {keys[recipient]}, "every copy carries the row's Message-ID"
        duplicates = len(arrivals) - len(keys)
        print(
            f"SMTP crash: {received_before_restart} received before the kill, "
            f"{len(arrivals)} in all, {duplicates} duplicate copies (same Message-ID), "
            f"left unsent by the restarted run: {not_sent}"
        )
        assert_everything_done_once(reader, contacts, purchases)
        assert not not_sent, (
            f"the restarted `journeyman run --until-idle` returned with messages {not_sent}: "
            "rows leased by the killed dispatcher stay 'sending' until the lease "
            "(DispatchSettings.lease, 5 minutes) runs out, so the restart does not finish the work"
        )
    finally:
        reader.close()
