"""API keys and the browser tracker (issue 16, point 5): ``apikey list`` and ``apikey
revoke`` (refused by a running server from its next request on), the two scopes (a tracker
key only on /api/v2, an admin key never as ``ma-key``), CORS preflights on the tracker's
routes for the configured origins, and unknown tracker properties kept on the event.
Also point 4 over HTTP: a link forged with the old development secret is a 404."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from journeyman import links

from .api_support import Server, cli, start_server, stop_server

SHOP = "https://shop.example"


@pytest.fixture(scope="module")
def shop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose tracker may be called from pages of https://shop.example."""
    directory = tmp_path_factory.mktemp("tracker")
    server = start_server(
        directory,
        f"sqlite:///{directory / 'journeyman.db'}",
        env={"JOURNEYMAN_TRACKER_ORIGINS": f"{SHOP}, https://www.shop.example"},
    )
    try:
        yield server
    finally:
        assert stop_server(server) == 0, server.log_text()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    url = f"sqlite:///{tmp_path / 'journeyman.db'}"
    if request.param == "postgres":
        url = str(request.getfixturevalue("pg_url"))
    server = start_server(tmp_path, url)
    try:
        yield server
    finally:
        assert stop_server(server) == 0, server.log_text()


def an_event(email: str) -> dict[str, Any]:
    return {"event_name": "signed_up", "identifiers": {"email_id": email}}


def test_a_revoked_key_is_refused_at_once_by_the_running_server(
    fresh_server: Server, tmp_path: Path
) -> None:
    db = fresh_server.db_url
    key = cli(tmp_path, db, "apikey", "create", "shop-backend").stdout.strip().splitlines()[-1]
    with httpx.Client(base_url=fresh_server.url, headers={"api-key": key}, timeout=30) as http:
        # Used a few times: the server remembers it (and the event takes the hot path).
        assert [http.get("/v3/contacts").status_code for _ in range(3)] == [200, 200, 200]
        assert http.post("/v3/events", json=an_event("before@example.com")).status_code == 204
        listed = cli(tmp_path, db, "apikey", "list").stdout

        cli(tmp_path, db, "apikey", "revoke", "shop-backend")
        refused = [http.get("/v3/contacts"), http.post("/v3/events", json=an_event("a@b.c"))]
        other = http.get("/v3/contacts", headers={"api-key": fresh_server.key})
    again = cli(tmp_path, db, "apikey", "revoke", "shop-backend", expect=2)
    listed_after = cli(tmp_path, db, "apikey", "list").stdout

    assert [answer.status_code for answer in refused] == [401, 401]
    assert refused[1].json() == {"code": "unauthorized", "message": "Key not found"}
    assert other.status_code == 200
    assert "shop-backend" in listed and key[:8] in listed and key not in listed
    assert "tracker" in listed and "admin" in listed
    assert "shop-backend" not in listed_after
    assert "no api key named 'shop-backend'" in again.stderr


def test_a_tracker_key_calls_only_the_tracker_and_an_admin_key_is_no_ma_key(
    shop_server: Server,
) -> None:
    tracker, admin = shop_server.tracker_key, shop_server.key
    with shop_server.anonymous() as http:
        on_admin_routes = [
            http.get("/v3/contacts", headers={"api-key": tracker}),
            http.post("/v3/events", json=an_event("t@example.com"), headers={"api-key": tracker}),
            http.get("/api/v1/workflows", headers={"Authorization": f"Bearer {tracker}"}),
        ]
        admin_as_ma_key = http.post(
            "/api/v2/trackEvent",
            json={"email": "t@example.com", "event": "viewed"},
            headers={"ma-key": admin},
        )

    assert [answer.status_code for answer in on_admin_routes] == [401, 401, 401]
    assert on_admin_routes[0].json()["message"].startswith("a tracker key can only call")
    assert admin_as_ma_key.status_code == 401
    assert admin_as_ma_key.json()["message"].startswith("an admin key cannot be the ma-key")


def test_the_tracker_routes_answer_preflights_for_the_configured_origins(
    shop_server: Server,
) -> None:
    asking = {"Access-Control-Request-Method": "POST"}
    asking["Access-Control-Request-Headers"] = "content-type,ma-key"
    with shop_server.anonymous() as http:
        preflights = {
            path: http.options(path, headers={"Origin": SHOP, **asking})
            for path in (
                "/api/v2/trackEvent",
                "/api/v2/identify",
                "/api/v2/trackPage",
                "/api/v2/trackLink",
            )
        }
        stranger = http.options(
            "/api/v2/trackEvent", headers={"Origin": "https://evil.example", **asking}
        )
        admin_route = http.options("/v3/events", headers={"Origin": SHOP, **asking})
        tracked = http.post(
            "/api/v2/trackEvent",
            json={"email": "cors@example.com", "event": "viewed"},
            headers={"Origin": SHOP, "ma-key": shop_server.tracker_key},
        )

    for answer in preflights.values():
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == SHOP
        assert "ma-key" in answer.headers["access-control-allow-headers"].lower()
        assert "POST" in answer.headers["access-control-allow-methods"]
    assert stranger.status_code == 400
    assert "access-control-allow-origin" not in stranger.headers
    assert "access-control-allow-origin" not in admin_route.headers
    assert tracked.status_code == 204
    assert tracked.headers["access-control-allow-origin"] == SHOP


def test_tracker_properties_that_are_no_attribute_stay_on_the_event(
    shop_server: Server,
) -> None:
    email = "visitor@example.com"
    ma_key = {"ma-key": shop_server.tracker_key}
    with shop_server.anonymous() as http:
        answers = [
            http.post(
                "/api/v2/trackEvent",
                json={
                    "email": email,
                    "event": "cart_updated",
                    "properties": {"FIRSTNAME": "Vi", "plan": "gold", "visits": 3},
                    "eventdata": {"id": "cart:9", "data": {"total": 5}},
                },
                headers=ma_key,
            ),
            http.post(
                "/api/v2/trackPage",
                json={
                    "email": email,
                    "page": "Checkout",
                    "properties": {"ma_url": "https://shop.example/checkout", "LASTNAME": "Sit"},
                },
                headers=ma_key,
            ),
            http.post(
                "/api/v2/trackLink",
                json={"email": email, "link": "shop.example/terms.pdf", "properties": {"k": 1}},
                headers=ma_key,
            ),
        ]
    with shop_server.client() as admin:
        found = admin.get(f"/v3/contacts/{email}").json()
        events = admin.get("/v3/events", params={"contact_id": found["id"]}).json()["events"]

    assert [answer.status_code for answer in answers] == [204, 204, 204], answers[0].text
    assert found["attributes"] == {"FIRSTNAME": "Vi", "LASTNAME": "Sit"}
    by_name = {e["event_name"]: e["event_properties"] for e in events}
    assert by_name == {
        "cart_updated": {"plan": "gold", "visits": 3, "total": 5, "id": "cart:9"},
        "page_viewed": {"page": "Checkout", "ma_url": "https://shop.example/checkout"},
        "link_clicked": {"link": "shop.example/terms.pdf", "k": 1},
    }


def test_a_link_forged_with_the_old_development_secret_is_not_found(
    backend_server: Server,
) -> None:
    """Before, without JOURNEYMAN_SECRET: an open redirect and anyone's unsubscribe."""
    development = b"journeyman-development-secret"
    click = links.sign(development, links.CLICK, 1, "1:mail:1", "https://evil.example/")
    unsubscribe = links.sign(development, links.UNSUBSCRIBE, 1, "1:mail:1")
    with backend_server.anonymous() as http:
        redirect = http.get(f"/t/c/{click}", follow_redirects=False)
        page = http.get(f"/unsubscribe/{unsubscribe}")
        posted = http.post(f"/unsubscribe/{unsubscribe}")

    assert (redirect.status_code, page.status_code, posted.status_code) == (404, 404, 404)
    assert "location" not in redirect.headers
