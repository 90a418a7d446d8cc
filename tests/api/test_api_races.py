"""Concurrent requests for the same new contact: no server error, one contact.

On PostgreSQL two transactions can both find an email unknown and both insert it; the second
then hits the unique index. Brevo's answer to the loser is what it would have been a moment
later: an update with ``updateEnabled``, ``duplicate_parameter`` without.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

from .api_support import Reader, Server

ROUNDS = 12
RACERS = 6


def race(server: Server, path: str, bodies: list[dict[str, Any]]) -> list[int]:
    """The bodies posted to ``path`` at once, each on its own connection: their statuses."""
    start = Barrier(len(bodies))
    clients = [server.client() for _ in bodies]
    for http in clients:  # connected before the race starts
        assert http.get("/v3/contacts/attributes").status_code == 200

    def one(n: int) -> int:
        start.wait()
        return clients[n].post(path, json=bodies[n]).status_code

    try:
        with ThreadPoolExecutor(len(bodies)) as pool:
            return list(pool.map(one, range(len(bodies))))
    finally:
        for http in clients:
            http.close()


def contacts_named(server: Server, email: str) -> int:
    reader = Reader(server.db_url)
    try:
        return int(reader.value("SELECT count(*) FROM contacts WHERE email = :email", email=email))
    finally:
        reader.close()


def test_racing_upserts_of_one_new_email_make_one_contact(backend_server: Server) -> None:
    statuses: Counter[int] = Counter()
    for round_ in range(ROUNDS):
        email = f"race-upsert-{round_}@example.com"
        bodies = [
            {"email": email, "updateEnabled": True, "attributes": {"FIRSTNAME": f"R{n}"}}
            for n in range(RACERS)
        ]
        statuses.update(race(backend_server, "/v3/contacts", bodies))
        assert contacts_named(backend_server, email) == 1

    assert set(statuses) <= {201, 204}, statuses
    assert statuses[201] == ROUNDS  # each email created once, the others updated it


def test_racing_creations_of_one_new_email_refuse_all_but_one(backend_server: Server) -> None:
    for round_ in range(ROUNDS):
        email = f"race-create-{round_}@example.com"
        statuses = race(backend_server, "/v3/contacts", [{"email": email}] * RACERS)

        assert sorted(statuses) == [201] + [400] * (RACERS - 1), statuses
        assert contacts_named(backend_server, email) == 1


def test_racing_imports_naming_one_new_email_make_one_contact(backend_server: Server) -> None:
    for round_ in range(ROUNDS):
        email = f"race-import-{round_}@example.com"
        body = {"jsonBody": [{"email": email, "attributes": {"FIRSTNAME": "I"}}]}
        statuses = race(backend_server, "/v3/contacts/import", [body] * RACERS)

        assert set(statuses) == {202}, statuses
        assert contacts_named(backend_server, email) == 1


def test_racing_event_batches_creating_the_same_contacts_store_every_event_once(
    backend_server: Server,
) -> None:
    """Batches that create the same two new contacts in crossed roles (one changes the first
    contact's attributes and names the second, the other the reverse): on PostgreSQL the
    server's two writers wait for each other or deadlock, and the loser is run again."""
    for round_ in range(ROUNDS):
        first, second = (f"race-batch-{round_}-{n}@example.com" for n in (1, 2))

        def batch(changed: str, named: str, n: int) -> dict[str, Any]:
            return {
                "events": [
                    {
                        "event_name": "race_batch",
                        "identifiers": {"email_id": changed},
                        "contact_properties": {"FIRSTNAME": f"B{n}"},
                    },
                    {"event_name": "race_batch", "identifiers": {"email_id": named}},
                ]
            }

        bodies = [
            batch(first, second, n) if n % 2 else batch(second, first, n) for n in range(RACERS)
        ]
        statuses = race(backend_server, "/v3/events/batch", bodies)

        assert set(statuses) == {202}, statuses
        assert contacts_named(backend_server, first) == contacts_named(backend_server, second) == 1
        reader = Reader(backend_server.db_url)
        try:
            stored = reader.value(
                "SELECT count(*) FROM events e JOIN contacts c ON c.id = e.contact_id"
                " WHERE e.name = 'race_batch' AND c.email IN (:a, :b)",
                a=first,
                b=second,
            )
        finally:
            reader.close()
        assert stored == 2 * RACERS
