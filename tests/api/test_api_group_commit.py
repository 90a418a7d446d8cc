"""Group commit over real HTTP: many concurrent ``POST /v3/events`` are each stored exactly
once and share transactions, a bad event among them is refused with its reason while the
others are kept, and every event answered 204 survives the server being killed."""

from __future__ import annotations

import asyncio
import signal
import threading
from pathlib import Path

import httpx

from .api_support import Reader, Server, start_server, stop_server

CONCURRENT = 48


def event(email: str, name: str = "gc_signup") -> dict[str, object]:
    return {"event_name": name, "identifiers": {"email_id": email}}


async def post_all(server: Server, bodies: list[dict[str, object]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
    async with httpx.AsyncClient(
        base_url=server.url, headers={"api-key": server.key}, limits=limits, timeout=60
    ) as http:
        return await asyncio.gather(*(http.post("/v3/events", json=b) for b in bodies))


def test_concurrent_events_are_stored_once_each_in_shared_transactions(
    api_server: Server, reader: Reader
) -> None:
    bodies = [event(f"gc{i}@example.com") for i in range(300)]
    bodies[17] = event("gc17@example.com", "not valid!")
    bodies[201] = event("not-an-email")

    answers = asyncio.run(post_all(api_server, bodies))

    statuses = [a.status_code for a in answers]
    assert statuses.count(204) == 298, [a.text for a in answers if a.status_code != 204]
    assert (statuses[17], answers[17].json()["code"]) == (400, "invalid_parameter")
    assert "event_name 'not valid!' is invalid" in answers[17].json()["message"]
    assert (statuses[201], answers[201].json()["code"]) == (400, "invalid_parameter")
    rows = reader.rows(
        "SELECT c.email, e.received_at FROM events e JOIN contacts c ON c.id = e.contact_id"
        " WHERE e.name = 'gc_signup'"
    )
    emails = sorted(email for email, _ in rows)
    expected = sorted(f"gc{i}@example.com" for i in range(300) if i not in (17, 201))
    assert emails == expected  # each exactly once, the refused ones not at all
    # One transaction stamps its events with one received_at: fewer stamps than events
    # means requests were committed together.
    assert len({received for _, received in rows}) < len(rows)


def test_every_event_answered_204_survives_a_kill(tmp_path: Path) -> None:
    server = start_server(tmp_path, f"sqlite:///{tmp_path / 'journeyman.db'}")
    answered: list[str] = []
    stop = threading.Event()

    def client(worker: int) -> None:
        with server.client() as http:
            for n in range(100_000):
                if stop.is_set():
                    return
                email = f"k{worker}-{n}@example.com"
                try:
                    answer = http.post("/v3/events", json=event(email, "gc_kill"))
                except httpx.TransportError:
                    return  # the server died under this request: no answer, no promise
                if answer.status_code == 204:
                    answered.append(email)

    threads = [threading.Thread(target=client, args=(w,)) for w in range(8)]
    try:
        for thread in threads:
            thread.start()
        while len(answered) < 300 and all(t.is_alive() for t in threads):
            threading.Event().wait(0.05)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=30)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        stop_server(server)
    assert server.process.returncode == -signal.SIGKILL
    assert len(answered) >= 300, server.log_text()

    reader = Reader(server.db_url)
    try:
        rows = reader.rows(
            "SELECT c.email FROM events e JOIN contacts c ON c.id = e.contact_id"
            " WHERE e.name = 'gc_kill'"
        )
    finally:
        reader.close()
    stored = [email for (email,) in rows]
    assert len(stored) == len(set(stored))  # none twice
    assert set(answered) <= set(stored)  # every 204 was a promise kept
