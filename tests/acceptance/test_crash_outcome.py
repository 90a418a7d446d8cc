"""A crash changes no outcome: the source document's example on a backlog of 6,000 contacts
(50,000 in ``make soak``; every third contact buys twice), ``journeyman run`` killed with
SIGKILL at random moments and started again, ends in the same database as the same backlog
run without a kill."""

from __future__ import annotations

import random
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from journeyman.app import App
from journeyman.config import Settings
from journeyman.demo import load_demo_data

from .cli_support import Reader, kill_when, logged, start_logged

CONTACTS = 6_000  # 8,000 purchases
SOAK_CONTACTS = 50_000  # 66,667 purchases
RUN = ("run", "--until-idle")  # the default batch size, as a user runs it
# Where the kills fall, as shares of the purchases turned into runs: one drawn in each
# window, through the first purchases, up to just before the second ones follow, and after.
KILL_WINDOWS = ((0.05, 0.25), (0.30, 0.50), (0.55, 0.74), (0.80, 0.95))


@pytest.fixture
def reference_url(cli_db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A second database of the same kind, for the run without a crash."""
    if cli_db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'reference.db'}"
    url: str = request.getfixturevalue("pg_db_url")
    return url


def prepare(url: str, contacts: int) -> int:
    app = App.open(Settings(database_url=url))
    try:
        return load_demo_data(app, contacts)
    finally:
        app.close()


def start(url: str, tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    return start_logged(RUN, db=url, cwd=tmp_path, name=name)


def kill_at(
    process: subprocess.Popen[bytes], reader: Reader, runs: int, tmp_path: Path, name: str
) -> int:
    """SIGKILL the process once ``runs`` runs exist; the number there were."""
    found: list[int] = []

    def ready() -> bool:
        found.append(int(reader.value("SELECT count(*) FROM runs")))
        return found[-1] >= runs

    kill_when(process, ready, tmp_path, name, within=600, poll=0.02)
    return found[-1]


def finish(url: str, tmp_path: Path, name: str) -> None:
    process = start(url, tmp_path, name)
    code = process.wait(timeout=1200)
    assert code == 0, f"the run exited {code}:\n{logged(tmp_path, name)}"


def outcome(reader: Reader) -> dict[str, Any]:
    """What the example leaves in the database, contact by contact (by email, so that two
    databases compare), with the totals."""

    def per_contact(sql: str) -> Counter[str]:
        return Counter({email: n for email, n in reader.rows(sql)})

    return {
        "runs": per_contact(
            "SELECT c.email, count(*) FROM runs r JOIN contacts c ON c.id = r.contact_id "
            "GROUP BY c.email"
        ),
        "statuses": dict(reader.rows("SELECT status, count(*) FROM runs GROUP BY status")),
        "coupons": per_contact(
            "SELECT c.email, count(*) FROM messages m JOIN contacts c ON c.id = m.contact_id "
            "GROUP BY c.email"
        ),
        "loyal": {
            email
            for (email,) in reader.rows(
                "SELECT c.email FROM list_members m JOIN lists l ON l.id = m.list_id "
                "JOIN contacts c ON c.id = m.contact_id WHERE l.name = 'Loyal customers'"
            )
        },
        "purchases with a run": reader.value(
            "SELECT count(DISTINCT r.trigger_event_id) FROM runs r "
            "JOIN events e ON e.id = r.trigger_event_id WHERE e.name = 'purchase'"
        ),
        "refusals": reader.value("SELECT count(*) FROM entry_refusals"),
        "queued events": reader.value("SELECT count(*) FROM event_queue"),
        "log rows": reader.value("SELECT count(*) FROM run_log WHERE result <> 'deferred'"),
    }


def assert_the_example_holds(found: dict[str, Any], contacts: int, purchases: int) -> None:
    emails = [f"customer{i:07d}@example.com" for i in range(contacts)]
    repeat_buyers = set(emails[::3])
    assert found["purchases with a run"] == purchases, "every purchase started a run"
    assert found["statuses"] == {"completed": purchases}
    assert found["runs"] == Counter({e: 2 if e in repeat_buyers else 1 for e in emails})
    assert found["loyal"] == repeat_buyers, "the list holds exactly the repeat buyers"
    assert found["coupons"] == Counter(dict.fromkeys(emails, 1)), "one coupon per contact"
    assert found["refusals"] == 0
    assert found["queued events"] == 0
    assert found["log rows"] == 2 * purchases, "every step once"


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_a_backlog_killed_at_random_moments_ends_as_without_a_crash(
    cli_db_url: str, reference_url: str, tmp_path: Path, soak: bool
) -> None:
    contacts = SOAK_CONTACTS if soak else CONTACTS
    seed = random.randrange(2**32)
    draw = random.Random(seed)
    started = time.monotonic()

    purchases = prepare(reference_url, contacts)
    finish(reference_url, tmp_path, "reference")
    reference = Reader(reference_url)
    try:
        without_a_crash = outcome(reference)
    finally:
        reference.close()
    assert_the_example_holds(without_a_crash, contacts, purchases)
    reference_done = time.monotonic()

    assert prepare(cli_db_url, contacts) == purchases
    reader = Reader(cli_db_url)
    try:
        kills = []
        for number, (low, high) in enumerate(KILL_WINDOWS):
            target = int(draw.uniform(low, high) * purchases)
            process = start(cli_db_url, tmp_path, f"killed-{number}")
            kills.append(kill_at(process, reader, target, tmp_path, f"killed-{number}"))
        finish(cli_db_url, tmp_path, "last")
        with_crashes = outcome(reader)
    finally:
        reader.close()

    print(
        f"seed {seed}: killed at {kills} runs of {purchases}; reference "
        f"{reference_done - started:.0f} s, killed and restarted "
        f"{time.monotonic() - reference_done:.0f} s"
    )
    assert_the_example_holds(with_crashes, contacts, purchases)
    assert with_crashes == without_a_crash, f"seed {seed}, killed at {kills}"
