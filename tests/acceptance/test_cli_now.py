"""``journeyman run --until-idle --now TIME``: the engine runs as of a given time (tests,
backfills). A two-day delay waits under the real clock, still waits a minute before it ends,
and sends its email through a real SMTP server once ``--now`` is past it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .cli_support import Cli, Reader, SmtpServer

WORKFLOW = """\
key: welcome-later
name: Welcome, two days later
entry_points:
  - event: signup
steps:
  - id: wait
    delay: {days: 2}
    next: welcome
  - id: welcome
    send_email:
      from: "Shop <shop@example.com>"
      subject: "Still there?"
      html: "<p>Two days ago you signed up.</p>"
"""
CET = dt.timezone(dt.timedelta(hours=1))


def as_utc(value: object) -> dt.datetime:
    """A stored time read with plain SQL: naive UTC text on SQLite, aware on PostgreSQL."""
    when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def test_a_delay_ends_when_run_as_of_a_later_time(
    cli: Cli, cli_db_url: str, cli_smtp_server: SmtpServer, tmp_path: Path
) -> None:
    db, smtp = cli_db_url, {"JOURNEYMAN_SMTP_URL": cli_smtp_server.url}
    (tmp_path / "welcome.yaml").write_text(WORKFLOW, encoding="utf-8")
    cli("workflow", "apply", "welcome.yaml", db=db)
    cli("event", "send", "signup", "--email", "jane@example.com", db=db)
    reader = Reader(db)
    try:
        now = cli("run", "--until-idle", db=db, **smtp)
        ((status, due_at, entered_at),) = reader.rows("SELECT status, due_at, entered_at FROM runs")
        wake = as_utc(due_at)
        assert status == "waiting"
        assert dt.timedelta(days=2) <= wake - as_utc(entered_at) < dt.timedelta(days=2, minutes=1)

        almost = (wake - dt.timedelta(minutes=1)).astimezone(CET).isoformat()
        early = cli("run", "--until-idle", "--now", almost, db=db, **smtp)
        assert reader.value("SELECT status FROM runs") == "waiting"

        later = (wake + dt.timedelta(days=1)).astimezone(CET).isoformat()  # 3 days after
        done = cli("run", "--until-idle", "--now", later, db=db, **smtp)
        ((state, sent_at),) = reader.rows("SELECT status, sent_at FROM messages")
        run_status = reader.value("SELECT status FROM runs")
    finally:
        reader.close()

    assert "1 runs started" in now.out and "0 messages delivered" in now.out
    assert "0 steps" in early.out
    assert "1 steps, 1 messages delivered" in done.out
    assert (state, run_status) == ("sent", "completed")
    assert as_utc(sent_at) == dt.datetime.fromisoformat(later)  # as of --now
    assert [a.recipients for a in cli_smtp_server.handler.snapshot()] == [("jane@example.com",)]


def test_now_must_be_a_time_with_an_offset_for_one_process_until_idle(cli: Cli) -> None:
    garbled = cli("run", "--until-idle", "--now", "next friday", expect=2)
    naive = cli("run", "--until-idle", "--now", "2027-01-15T09:00:00", expect=2)
    forever = cli("run", "--now", "2027-01-15T09:00:00+01:00", expect=2)

    assert "--now 'next friday' is not an ISO 8601 date and time" in garbled.err
    assert "needs a UTC offset, e.g. 2027-01-15T09:00:00+01:00" in naive.err
    assert "add --until-idle, no --workers" in forever.err
