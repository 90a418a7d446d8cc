"""API keys: every route refuses a request without a valid key with Brevo's 401 body; keys
are accepted as ``api-key``, ``Authorization: Bearer`` and (the tracker) ``ma-key``, and are
stored hashed."""

from __future__ import annotations

import hashlib

import pytest

from .api_support import Reader, Server

ROUTES = [
    ("GET", "/v3/contacts"),
    ("POST", "/v3/contacts"),
    ("GET", "/v3/contacts/jane@example.com"),
    ("PUT", "/v3/contacts/1"),
    ("DELETE", "/v3/contacts/1"),
    ("POST", "/v3/contacts/batch"),
    ("POST", "/v3/contacts/import"),
    ("GET", "/v3/contacts/lists"),
    ("POST", "/v3/contacts/lists"),
    ("GET", "/v3/contacts/lists/1"),
    ("PUT", "/v3/contacts/lists/1"),
    ("DELETE", "/v3/contacts/lists/1"),
    ("GET", "/v3/contacts/lists/1/contacts"),
    ("POST", "/v3/contacts/lists/1/contacts/add"),
    ("POST", "/v3/contacts/lists/1/contacts/remove"),
    ("GET", "/v3/contacts/attributes"),
    ("POST", "/v3/contacts/attributes/normal/AGE"),
    ("PUT", "/v3/contacts/attributes/category/PLAN"),
    ("DELETE", "/v3/contacts/attributes/normal/AGE"),
    ("POST", "/v3/events"),
    ("POST", "/v3/events/batch"),
    ("GET", "/v3/events"),
    ("POST", "/api/v2/trackEvent"),
    ("POST", "/api/v2/identify"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_refuses_a_request_without_a_key(
    api_server: Server, method: str, path: str
) -> None:
    with api_server.anonymous() as http:
        header = "ma-key" if path.startswith("/api/v2") else "api-key"
        missing = http.request(method, path, json={})
        wrong = http.request(method, path, json={}, headers={header: "jm-wrong"})

    assert missing.status_code == 401
    assert missing.json() == {
        "code": "unauthorized",
        "message": f"Key not found: pass your API key in the {header} header",
    }
    assert wrong.status_code == 401
    assert wrong.json() == {"code": "unauthorized", "message": "Key not found"}


def test_a_key_is_accepted_in_each_header_its_routes_read(api_server: Server) -> None:
    key = api_server.key
    with api_server.anonymous() as http:
        by_header = http.get("/v3/contacts", headers={"api-key": key})
        by_bearer = http.get("/v3/contacts", headers={"Authorization": f"Bearer {key}"})
        tracker = http.post(
            "/api/v2/identify",
            json={"email": "ma@example.com"},
            headers={"ma-key": api_server.tracker_key},
        )
        ma_key_on_v3 = http.get("/v3/contacts", headers={"ma-key": key})

    assert (by_header.status_code, by_bearer.status_code, tracker.status_code) == (200, 200, 204)
    assert ma_key_on_v3.status_code == 401


def test_keys_are_stored_hashed_and_their_use_is_recorded(api_server: Server) -> None:
    with api_server.client() as http:
        assert http.get("/v3/contacts").status_code == 200
    reader = Reader(api_server.db_url)
    try:
        rows = reader.rows("SELECT name, key_hash, prefix, last_used_at FROM api_keys")
    finally:
        reader.close()

    rows = [row for row in rows if row[0] == "tests"]
    assert rows == [
        (
            "tests",
            hashlib.sha256(api_server.key.encode()).hexdigest(),
            api_server.key[:8],
            rows[0][3],
        )
    ]
    assert rows[0][3] is not None
    assert api_server.key not in str(rows)


def test_the_openapi_document_is_published_with_the_brevo_routes(api_server: Server) -> None:
    with api_server.anonymous() as http:
        document = http.get("/openapi.json").json()

    assert document["openapi"].startswith("3.")
    assert {"/v3/contacts", "/v3/contacts/{identifier}", "/v3/events/batch"} <= set(
        document["paths"]
    )
    assert {"api-key", "bearer", "ma-key"} <= set(document["components"]["securitySchemes"])


def test_a_method_a_route_does_not_have_is_refused_with_allow(api_server: Server) -> None:
    """Found by schemathesis: the 405 lost its Allow header (RFC 9110) in Brevo's body."""
    with api_server.client() as http:
        answer = http.request("TRACE", "/v3/events")

    assert answer.status_code == 405
    assert answer.json()["code"] == "method_not_allowed"
    assert set(answer.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
