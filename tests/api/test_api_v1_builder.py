"""What the builder writes through, over real HTTP on SQLite and PostgreSQL: drafts (saved as
sent with the validator's problems, diffed, published exactly as apply, deleted), the email
preview (the real renderer, recording nothing), users and the workflow schema."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
import pytest

from journeyman.documents import MAX_DOCUMENT_BYTES
from journeyman.workflow.document import json_schema

from .api_support import Reader, Server, cli, wait_for


def document(key: str, subject: str = "Welcome {{ contact.FIRSTNAME }}") -> dict[str, Any]:
    return {
        "key": key,
        "name": f"Builder {key}",
        "entry_points": [{"event": f"{key}_signed_up"}],
        "templates": {"welcome": "<p>Hello {{ contact.FIRSTNAME }}</p>"},
        "steps": [
            {
                "id": "hello",
                "send_email": {
                    "from": "shop@example.com",
                    "subject": subject,
                    "template": "welcome",
                },
                "next": "pause",
            },
            {"id": "pause", "delay": {"days": 3}, "next": "tag"},
            {"id": "tag", "add_to_list": {"lists": f"{key} list"}},
        ],
    }


def problems(answer: httpx.Response) -> set[tuple[str | None, str | None]]:
    return {(p["step"], p["field"]) for p in answer.json()["problems"]}


def test_a_draft_is_saved_as_sent_diffed_and_published_as_apply_would(
    backend_server: Server,
) -> None:
    key = f"bld-{backend_server.process.pid}"
    incomplete = {"name": "Half done", "key": key, "steps": [{"id": "hello", "send_email": {}}]}
    with backend_server.client() as http:
        saved = http.put(f"/api/v1/drafts/{key}", json={"document": incomplete})
        assert saved.status_code == 200, saved.text
        assert saved.json()["document"] == incomplete  # stored as sent
        assert saved.json()["valid"] is False
        assert {(None, "entry_points"), ("hello", "send_email.subject")} <= problems(saved)

        refused = http.post(f"/api/v1/drafts/{key}/publish")
        assert refused.status_code == 422
        assert refused.json()["code"] == "invalid_workflow"
        assert ("hello", "send_email.subject") in problems(refused)
        assert http.get(f"/api/v1/drafts/{key}").json()["document"] == incomplete  # kept

        good = http.put(f"/api/v1/drafts/{key}", json={"document": document(key)}).json()
        assert (good["valid"], good["problems"], good["current_version"]) == (True, [], None)
        listed = http.get("/api/v1/drafts").json()
        assert {"key": key, "name": f"Builder {key}", "workflow": key} in [
            {k: d[k] for k in ("key", "name", "workflow")} for d in listed["drafts"]
        ]

        diff = http.get(f"/api/v1/drafts/{key}/diff").json()
        assert (diff["workflow"], diff["version"]) == (key, None)
        assert "+    html: <p>Hello {{ contact.FIRSTNAME }}</p>" in diff["diff"]  # inlined

        published = http.post(f"/api/v1/drafts/{key}/publish")
        assert published.status_code == 200, published.text
        assert published.json() == {
            "key": key,
            "version": 1,
            "status": "active",
            "created": True,
            "unchanged": False,
            "lists_created": [f"{key} list"],
        }
        assert http.get(f"/api/v1/drafts/{key}").status_code == 404  # deleted
        applied = http.get(f"/api/v1/workflows/{key}").json()["document"]
        via_apply = http.post("/api/v1/workflows", json=document(key)).json()
        assert via_apply["unchanged"] is True  # the same version apply would store

        again = http.put(f"/api/v1/drafts/{key}", json={"document": applied}).json()
        assert again["based_on_version"] == 1
        assert http.get(f"/api/v1/drafts/{key}/diff").json() == {
            "workflow": key,
            "version": 1,
            "diff": "",
        }  # a stored version opens and saves back unchanged
        changed = copy.deepcopy(applied)
        changed["steps"][0]["send_email"]["subject"] = "Hi again"
        http.put(f"/api/v1/drafts/{key}", json={"document": changed})
        diff = http.get(f"/api/v1/drafts/{key}/diff").json()
        assert diff["version"] == 1
        assert "-    subject: Welcome {{ contact.FIRSTNAME }}\n" in diff["diff"]
        assert "+    subject: Hi again\n" in diff["diff"]
        assert http.post(f"/api/v1/drafts/{key}/publish").json()["version"] == 2
        assert http.delete(f"/api/v1/drafts/{key}").status_code == 404


def test_a_draft_whose_key_field_changes_loses_nothing(api_server: Server) -> None:
    with api_server.client() as http:
        http.post("/api/v1/workflows", json=document("bld-old"))
        draft = document("bld-old", subject="Renamed")
        draft["key"] = "bld-new"
        saved = http.put("/api/v1/drafts/bld-old", json={"document": draft}).json()
        assert (saved["key"], saved["workflow"], saved["current_version"]) == (
            "bld-old",
            "bld-new",
            None,
        )
        assert http.get("/api/v1/drafts/bld-old").json()["document"] == draft
        assert http.get("/api/v1/drafts/bld-old/diff").json()["version"] is None

        published = http.post("/api/v1/drafts/bld-old/publish").json()
        assert (published["key"], published["version"]) == ("bld-new", 1)
        old = http.get("/api/v1/workflows/bld-old").json()
        assert old["document"]["steps"][0]["send_email"]["subject"].startswith("Welcome")
        deleted = http.delete("/api/v1/drafts/bld-old")
        assert deleted.status_code == 404  # published, so gone


def test_publishing_leaves_runs_in_flight_on_their_version(backend_server: Server) -> None:
    key = "bld-flight"
    with backend_server.client() as http:
        http.post("/api/v1/workflows", json=document(key))
        answer = http.post(
            "/v3/events",
            json={"event_name": f"{key}_signed_up", "identifiers": {"email_id": "fl@example.com"}},
        )
        assert answer.status_code == 204

        def waiting() -> dict[str, Any] | None:
            graph = http.get(f"/api/v1/workflows/{key}/graph").json()
            nodes = {n["id"]: n for n in graph["nodes"]}
            return graph if nodes["pause"]["now"] == 1 else None

        graph = wait_for(waiting, what="the run to wait on the delay")
        nodes = {n["id"]: n for n in graph["nodes"]}
        assert (nodes["hello"]["entered"], nodes["tag"]["now"]) == (1, 0)  # on the delay
        http.put(f"/api/v1/drafts/{key}", json={"document": document(key, subject="v2")})
        assert http.post(f"/api/v1/drafts/{key}/publish").json()["version"] == 2

        current = http.get(f"/api/v1/workflows/{key}/graph").json()
        first = http.get(f"/api/v1/workflows/{key}/graph", params={"version": 1}).json()
        assert (current["version"], current["runs"]["entered"]) == (2, 0)
        assert (first["version"], first["runs"]["waiting"]) == (1, 1)
        assert {n["id"]: n["now"] for n in first["nodes"]}["pause"] == 1
        edges = {(e["source"], e["branch"]): e["count"] for e in first["edges"]}
        assert edges[("hello", "next")] == edges[("pause", "next")] == 1
        # The delay logged its way out when the wait began: that run waits there still.
        held = {(e["source"], e["branch"]): e["waiting"] for e in first["edges"]}
        assert (held[("pause", "next")], held[("hello", "next")]) == (1, 0)
        # Statistics of one version: its runs and their messages only.
        by_version = {
            v: http.get(f"/api/v1/workflows/{key}/stats", params={"version": v}).json()
            for v in (1, 2)
        }
        every = http.get(f"/api/v1/workflows/{key}/stats").json()
        assert [by_version[v]["version"] for v in (1, 2)] == [1, 2]
        assert (by_version[1]["runs"]["waiting"], by_version[2]["runs"]["entered"]) == (1, 0)
        hello = {v: by_version[v]["steps"][0] for v in (1, 2)}
        assert hello[1]["id"] == hello[2]["id"] == "hello"
        assert (hello[1]["entered"], hello[1]["messages"]["total"]) == (1, 1)
        assert (hello[2]["entered"], hello[2]["messages"]["total"]) == (0, 0)
        assert every["version"] == 2 and every["steps"][0]["messages"]["total"] == 1
        wrong = http.get(f"/api/v1/workflows/{key}/stats", params={"version": 3})
        assert wrong.status_code == 404
        on_delay = http.get(f"/api/v1/workflows/{key}/steps/pause/contacts").json()
        assert [(c["email"], c["version"], c["current_step"]) for c in on_delay["contacts"]] == [
            ("fl@example.com", 1, "tag")
        ]
        passed = http.get(
            f"/api/v1/workflows/{key}/steps/hello/contacts",
            params={"state": "passed", "version": 1},
        ).json()
        assert (passed["count"], passed["contacts"][0]["contact_id"]) == (
            1,
            on_delay["contacts"][0]["contact_id"],
        )
        assert http.get(f"/api/v1/workflows/{key}/graph", params={"version": 3}).status_code == 404


def test_draft_input_is_bounded_and_validated(api_server: Server) -> None:
    nested: Any = {}
    for _ in range(100):
        nested = {"a": nested}
    with api_server.client() as http:
        for body, code, words in (
            ({}, "missing_parameter", "document is missing"),
            ({"document": [1]}, "invalid_parameter", "an object"),
            ({"document": {"name": "x\u0000"}}, "invalid_parameter", "document.name"),
            ({"document": {"n": nested}}, "invalid_parameter", "nested deeper"),
            ({"document": {}, "based_on_version": 0}, "invalid_parameter", "based_on_version"),
        ):
            answer = http.put("/api/v1/drafts/bld-bad", json=body)
            assert (answer.status_code, answer.json()["code"]) == (400, code)
            assert words in answer.json()["message"], answer.text
        assert http.put("/api/v1/drafts/Bad Key", json={"document": {}}).status_code == 400
        huge = {"document": {"name": "x" * (MAX_DOCUMENT_BYTES + 100_000)}}
        assert http.put("/api/v1/drafts/bld-bad", json=huge).status_code == 413
        assert http.get("/api/v1/drafts/bld-bad").status_code == 404


def test_the_preview_renders_for_a_contact_and_records_nothing(
    backend_server: Server,
) -> None:
    reader = Reader(backend_server.db_url)
    try:
        with backend_server.client() as http:
            http.post(
                "/v3/contacts",
                json={"email": "pv@example.com", "attributes": {"FIRSTNAME": "Pia"}},
            )
            before = [reader.value(f"SELECT count(*) FROM {t}") for t in ("messages", "events")]
            body = {
                "subject": "Hi {{ contact.FIRSTNAME }}",
                "preview_text": "News for {{ contact.email }}",
                "template": "main",
                "templates": {
                    "main": '<p>{{ contact.FIRSTNAME }} <a href="https://shop.example/">'
                    'shop</a> <a href="{{ unsubscribe_url }}">out</a></p>'
                },
                "text": "Code {{ unique_code('PV') }}",
                "contact": "PV@example.com",
            }
            answer = http.post("/api/v1/preview/email", json=body)
            by_id = http.post("/api/v1/preview/email", json={**body, "contact": 1})
            after = [reader.value(f"SELECT count(*) FROM {t}") for t in ("messages", "events")]
            failures = [
                http.post("/api/v1/preview/email", json={**body, **change})
                for change in (
                    {"subject": "{{ oops"},
                    {"html": "<p>{{ 1 // 0 }}</p>"},
                    {"html": "{{ 'a' * 10**9 }}"},
                    {"template": "missing"},
                    {"contact": "nobody@example.com"},
                    {"contact": "not an email"},
                    {"subject": ""},
                )
            ]
            missing = http.post("/api/v1/preview/email", json={"html": "<p></p>"})
    finally:
        reader.close()
    assert answer.status_code == 200, answer.text
    rendered = answer.json()
    assert rendered["subject"] == "Hi Pia"
    assert "News for pv@example.com" in rendered["html"]  # the hidden preheader
    assert '<a href="https://shop.example/">shop</a>' in rendered["html"]  # not tracked
    assert '<a href="#unsubscribe">out</a>' in rendered["html"]  # inert
    assert "/t/o/" not in rendered["html"]
    assert rendered["text"].startswith("Code PV")
    assert by_id.status_code == 200
    assert after == before
    fields = [(f.status_code, next(iter(problems(f)))[1]) for f in failures]
    assert fields == [
        (422, "subject"),
        (422, "html"),
        (422, "html"),
        (422, "template"),
        (422, "contact"),
        (422, "contact"),
        (422, "subject"),
    ]
    assert (missing.status_code, missing.json()["code"]) == (400, "missing_parameter")


def test_users_and_the_schema_are_published(api_server: Server, tmp_path: Path) -> None:
    cli(tmp_path, api_server.db_url, "users", "create", "Bea Builder", "Bea@Example.com")
    with api_server.client() as http, api_server.anonymous() as stranger:
        found = http.get("/api/v1/users").json()
        schema = http.get("/api/v1/schema").json()
        anonymous = stranger.get("/api/v1/users")
    assert {"name": "Bea Builder", "email": "bea@example.com"} in [
        {k: u[k] for k in ("name", "email")} for u in found["users"]
    ]
    assert found["count"] == len(found["users"])
    assert schema == json_schema()
    assert anonymous.status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/drafts/x", "/api/v1/preview/email"])
def test_the_builder_routes_take_a_document_sized_body(api_server: Server, path: str) -> None:
    method = "PUT" if "drafts" in path else "POST"
    body = '{"document": {"name": "' + "x" * 1_500_000 + '"}}'
    with api_server.client() as http:
        answer = http.request(
            method, path, content=body, headers={"content-type": "application/json"}
        )
    assert answer.status_code != 413, answer.text
