"""Nesting and size over real HTTP (issue 16, point 7): a body nested 10,000 levels deep is a
4xx naming the problem (never a 500, never a dropped connection), request bodies and text
values have documented byte limits (README, "Limits"), and in a batch only the event over a
limit is refused."""

from __future__ import annotations

import json
from typing import Any

import httpx

from journeyman.api import body_limit, limits
from journeyman.documents import MAX_DOCUMENT_DEPTH

from .api_support import Reader, Server

DEEP = 10_000


def deep_json(levels: int = DEEP) -> str:
    return "[" * levels + "]" * levels


def event(email: str, **properties: Any) -> dict[str, Any]:
    return {
        "event_name": "limits",
        "identifiers": {"email_id": email},
        "event_properties": properties,
    }


def test_a_deep_workflow_document_is_a_422_and_the_connection_is_kept(
    api_server: Server,
) -> None:
    """Before: json.loads and PyYAML raised RecursionError, a 500 that dropped the
    connection. One client (one keep-alive connection) sends them all, then more work."""
    document = '{"key": "deep", "steps": ' + deep_json() + "}"
    yaml_document = "key: deep\nsteps: " + deep_json() + "\n"
    block_yaml = "key: deep\nsteps:\n" + "".join(" " * i + "a:\n" for i in range(1, 1000))
    with api_server.client() as http:
        answers = [
            http.post(path, content=body, headers={"content-type": media})
            for path in ("/api/v1/workflows", "/api/v1/workflows/validate")
            for body, media in (
                (document, "application/json"),
                (yaml_document, "application/yaml"),
                (block_yaml, "application/yaml"),
            )
        ]
        after = http.get("/api/v1/workflows")
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert f"nested deeper than {MAX_DOCUMENT_DEPTH} levels" in answer.json()["message"]
    assert after.status_code == 200
    assert "Traceback" not in api_server.log_text()


def test_a_deep_event_is_refused_and_the_rest_of_the_batch_kept(
    client: httpx.Client, reader: Reader
) -> None:
    """Before: the body fell back to json.loads, which raised RecursionError: a bare 400
    "There was an error parsing the body" for the whole batch."""
    deep = '{"event_name": "limits", "identifiers": {"email_id": "deep@example.com"}, '
    deep += '"event_properties": {"tree": ' + deep_json() + "}}"
    single = client.post("/v3/events", content=deep, headers={"content-type": "application/json"})
    good = json.dumps(event("kept-beside-deep@example.com", n=1))
    batch = client.post(
        "/v3/events/batch",
        content='{"events": [' + good + ", " + deep + "]}",
        headers={"content-type": "application/json"},
    )

    assert single.status_code == 400, single.text
    assert f"nested deeper than {limits.MAX_DEPTH} levels" in single.json()["message"]
    assert single.json()["message"].startswith("event_properties.tree[0][0]")
    assert batch.status_code == 207, batch.text
    errors = batch.json()["errors"]
    assert [e["eventIndex"] for e in errors] == [[1]]
    assert f"nested deeper than {limits.MAX_DEPTH} levels" in errors[0]["message"]
    stored = "select count(*) from events e join contacts c on c.id = e.contact_id "
    assert reader.value(stored + "where c.email = 'kept-beside-deep@example.com'") == 1
    assert reader.value(stored + "where c.email = 'deep@example.com'") == 0


def test_a_10_mb_property_is_refused_and_nothing_stored(
    backend_server: Server,
) -> None:
    """Before: a 10 MB property was stored. Now the body is over the route's limit (413,
    refused by its Content-Length before it is read), and a text value over
    MAX_TEXT_BYTES is refused naming its field, on SQLite and PostgreSQL."""
    huge = event("huge@example.com", blob="x" * 10_000_000)
    long_text = event("long@example.com", blob="ü" * (limits.MAX_TEXT_BYTES // 2 + 1))
    with backend_server.client() as http:
        too_large = http.post("/v3/events", json=huge)
        too_long = http.post("/v3/events", json=long_text)
        attribute = http.post(
            "/v3/contacts",
            json={"email": "attr@example.com", "attributes": {"FIRSTNAME": "y" * 70_000}},
        )
        fits = http.post("/v3/events", json=event("fits@example.com", blob="x" * 60_000))
        found = [http.get(f"/v3/contacts/{e}@example.com").status_code for e in ("huge", "long")]

    assert too_large.status_code == 413, too_large.text
    assert too_large.json() == {
        "code": "request_too_large",
        "message": body_limit.too_large(body_limit.DEFAULT),
    }
    assert too_long.status_code == 400, too_long.text
    assert too_long.json()["message"] == (
        f"event_properties.blob: a text of {limits.MAX_TEXT_BYTES + 2:,} bytes, "
        f"over the limit of {limits.MAX_TEXT_BYTES:,}"
    )
    assert attribute.status_code == 400 and "attributes.FIRSTNAME" in attribute.text
    assert fits.status_code == 204, fits.text
    assert found == [404, 404]


def test_a_chunked_body_is_cut_at_the_limit(client: httpx.Client) -> None:
    """A body without Content-Length is counted as it is read: 413 at the first byte over."""

    def chunks() -> Any:
        yield b'{"event_name": "limits", "identifiers": {"email_id": "chunked@example.com"}, '
        yield b'"event_properties": {"blob": "'
        for _ in range(body_limit.DEFAULT // 65_536 + 2):
            yield b"x" * 65_536
        yield b'"}}'

    answer = client.post(
        "/v3/events", content=chunks(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413, answer.text
    assert answer.json()["code"] == "request_too_large"


def test_a_batch_refuses_only_the_event_over_the_event_limit(
    client: httpx.Client, reader: Reader
) -> None:
    """Each event of a batch is held to a single event's limit; the others are kept."""
    parts = [f"p{i}" for i in range(20)]
    large = event("large-in-batch@example.com", **{p: "z" * 60_000 for p in parts})
    small = event("small-in-batch@example.com", n=2)
    answer = client.post("/v3/events/batch", json={"events": [small, large]})

    assert answer.status_code == 207, answer.text
    errors = answer.json()["errors"]
    assert [e["eventIndex"] for e in errors] == [[1]]
    assert errors[0]["message"].endswith(f"bytes, over {body_limit.DEFAULT:,}")
    stored = "select count(*) from events e join contacts c on c.id = e.contact_id "
    assert reader.value(stored + "where c.email = 'small-in-batch@example.com'") == 1
