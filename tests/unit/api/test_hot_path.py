"""The hot path for ``POST /v3/events`` (``api.hot_path``): it answers the common case
itself, and every other request reaches the app with its body intact and gets the app's
answer, byte for byte the one the app gives without the hot path."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.types import Message, Receive, Scope, Send

from journeyman import App
from journeyman.api.app import create_app
from journeyman.api.hot_path import MAX_BODY, HotEvents, _read_body, _replay
from journeyman.store import read_transaction, transaction
from journeyman.store.apikeys import create_key_txn
from journeyman.store.schema import contacts, events


class Counted:
    """An ASGI app that counts the HTTP requests reaching it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


def key_of(app: App) -> str:
    with transaction(app.engine) as connection:
        return create_key_txn(connection, "hot path", app.clock.now()).key


def stored_events(app: App) -> list[tuple[str, str]]:
    statement = sa.select(contacts.c.email, events.c.name).join(
        contacts, contacts.c.id == events.c.contact_id
    )
    with read_transaction(app.engine) as connection:
        return sorted((r[0], r[1]) for r in connection.execute(statement))


async def clients(app: App) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, Counted]]:
    """(through the hot path, straight to the app, the app's request counter)."""
    api = create_app(app.settings, journeyman=app)
    counted = Counted(api)
    hot = HotEvents(counted, checker=api.state.key_checker, writer=api.state.event_writer)
    base = "http://journeyman.test"
    try:
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=hot), base_url=base) as fast,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url=base) as plain,
        ):
            yield fast, plain, counted
    finally:
        await api.state.event_writer.close()
        await api.state.key_checker.aclose()


def event(email: str = "ann@example.com", **extra: Any) -> dict[str, Any]:
    return {
        "event_name": "signed_up",
        "identifiers": {"email_id": email},
        "event_properties": {"plan": "pro"},
        **extra,
    }


def test_the_common_event_is_stored_without_the_app(app: App) -> None:
    key = key_of(app)

    async def scenario() -> list[tuple[int, bool]]:
        answers = []
        async for fast, _plain, counted in clients(app):
            for headers in ({"api-key": key}, {"api-key": key}, {"authorization": f"Bearer {key}"}):
                before = counted.requests
                response = await fast.post("/v3/events", json=event(), headers=headers)
                answers.append((response.status_code, counted.requests > before))
        return answers

    answers = asyncio.run(scenario())

    # The first use of the key is checked by the app (a database read); then it is known.
    assert answers == [(204, True), (204, False), (204, False)]
    assert stored_events(app) == [("ann@example.com", "signed_up")] * 3


def big_event() -> dict[str, Any]:
    return event(event_properties={"notes": "x" * (MAX_BODY + 1)})


CASES: dict[str, dict[str, Any]] = {
    "unknown key": {"json": event(), "key": "nope"},
    "no key": {"json": event(), "key": None},
    "bearer of an unknown key": {"json": event(), "bearer": "nope"},
    "invalid event name": {"json": event(event_name="not valid!")},
    "no identifiers": {"json": {"event_name": "signed_up"}},
    "not JSON": {"content": b"{not json", "type": "application/json"},
    "not a JSON content type": {"content": json.dumps(event()).encode(), "type": "text/plain"},
    "a JSON array": {"json": [event()]},
    "an invalid date": {"json": event(event_date="yesterday")},
    "contact properties (a database read)": {"json": event(contact_properties={"FIRSTNAME": "A"})},
    "a query string": {"json": event(), "params": {"x": "1"}},
    "a body over the hot path's size": {"json": big_event()},
    "a NUL in a property": {"json": event(event_properties={"plan": "a\x00b"})},
    "the historical header": {"json": event(), "headers": {"X-Journeyman-Historical": "true"}},
    "a historical header not true or false": {
        "json": event(),
        "headers": {"X-Journeyman-Historical": "maybe"},
    },
}


@pytest.mark.parametrize("case", list(CASES))
def test_other_requests_get_the_apps_own_answer(app: App, case: str) -> None:
    key = key_of(app)
    spec = CASES[case]

    def request_args() -> dict[str, Any]:
        headers = dict(spec.get("headers", {}))
        given_key = spec.get("key", key)
        if "bearer" in spec:
            headers["authorization"] = f"Bearer {spec['bearer']}"
        elif given_key is not None:
            headers["api-key"] = given_key
        if "type" in spec:
            headers["content-type"] = spec["type"]
        args: dict[str, Any] = {"headers": headers, "params": spec.get("params")}
        if "json" in spec:
            args["json"] = spec["json"]
        else:
            args["content"] = spec["content"]
        return args

    async def scenario() -> tuple[httpx.Response, httpx.Response, int]:
        async for fast, plain, counted in clients(app):
            # The key is known to the checker first, so that only the case differs.
            warm = await fast.post(
                "/v3/events", json=event("warm@example.com"), headers={"api-key": key}
            )
            assert warm.status_code == 204
            before = counted.requests
            through_hot = await fast.post("/v3/events", **request_args())
            reached = counted.requests - before
            straight = await plain.post("/v3/events", **request_args())
            return through_hot, straight, reached
        raise AssertionError("no clients")

    through_hot, straight, reached = asyncio.run(scenario())

    assert reached == 1  # the app answered it
    assert through_hot.status_code == straight.status_code
    assert through_hot.headers.get("content-type") == straight.headers.get("content-type")
    assert through_hot.content == straight.content


def test_a_historical_event_is_stored_as_history_on_the_hot_path(app: App) -> None:
    key = key_of(app)

    async def scenario() -> int:
        async for fast, _plain, _counted in clients(app):
            answer = await fast.post(
                "/v3/events", json=event(historical=True), headers={"api-key": key}
            )
            return answer.status_code
        raise AssertionError("no clients")

    assert asyncio.run(scenario()) == 204
    with read_transaction(app.engine) as connection:
        assert list(connection.execute(sa.select(events.c.historical)).scalars()) == [True]


def test_other_paths_and_methods_pass_through(app: App) -> None:
    key = key_of(app)

    async def scenario() -> list[tuple[int, int]]:
        answers = []
        async for fast, _plain, counted in clients(app):
            for method, path in (
                ("GET", "/v3/events"),
                ("POST", "/v3/events/batch"),
                ("GET", "/v3/contacts/attributes"),
            ):
                before = counted.requests
                body = {"events": [event()]} if path.endswith("batch") else None
                response = await fast.request(method, path, json=body, headers={"api-key": key})
                answers.append((response.status_code, counted.requests - before))
        return answers

    assert asyncio.run(scenario()) == [(200, 1), (202, 1), (200, 1)]


def messages_of(*bodies: bytes, last: str = "http.request") -> list[Message]:
    found: list[Message] = [
        {"type": "http.request", "body": body, "more_body": True} for body in bodies
    ]
    if last == "http.request":
        found[-1]["more_body"] = False
    else:
        found.append({"type": last})
    return found


@pytest.mark.parametrize(
    ("received", "headers", "body"),
    [
        (messages_of(b'{"a":', b" 1}"), {}, b'{"a": 1}'),
        (
            messages_of(b"x" * MAX_BODY),
            {b"content-length": str(MAX_BODY).encode()},
            b"x" * MAX_BODY,
        ),
        (messages_of(b"x" * MAX_BODY, b"y"), {}, None),  # longer than the hot path takes
        (messages_of(b'{"a":', last="http.disconnect"), {}, None),  # cut short
        (messages_of(b"{}"), {b"content-length": str(MAX_BODY + 1).encode()}, None),
        (messages_of(b"{}"), {b"content-length": b"2x"}, None),
    ],
)
def test_a_body_read_is_handed_on_as_received(
    received: list[Message], headers: dict[bytes, bytes], body: bytes | None
) -> None:
    """Whatever the hot path read of a request, the app receives again, in order, then the
    rest of what the client sends."""
    rest: list[Message] = [{"type": "http.disconnect"}]

    async def scenario() -> tuple[bytes | None, list[Message]]:
        queue = list(received) + rest

        async def receive() -> Message:
            return queue.pop(0)

        taken, found = await _read_body(receive, headers)
        replayed = _replay(taken, receive)
        return found, [await replayed() for _ in range(len(received) + len(rest))]

    found, handed_on = asyncio.run(scenario())

    assert found == body
    assert handed_on == received + rest
