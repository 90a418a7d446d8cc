"""``/api/v1/workflows`` over real HTTP: apply from JSON and YAML (unchanged re-apply stores
nothing), validation problems naming step and field, list and detail, the lifecycle, keys."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .api_support import Reader, Server

YAML_DOCUMENT = """\
key: v1-yaml
name: Applied as YAML
entry_points:
  - event: v1_yaml_signed_up
steps:
  - id: hello
    send_email:
      from: "Shop <shop@example.com>"
      subject: "Hello"
      html: "<p>Hello</p>"
    next: tag
  - id: tag
    add_to_list: {lists: V1 YAML list}
"""


def json_document(key: str, subject: str = "Hi") -> dict[str, Any]:
    return {
        "key": key,
        "name": f"Workflow {key}",
        "entry_points": [{"event": f"{key}_happened"}],
        "steps": [
            {
                "id": "hi",
                "send_email": {"from": "shop@example.com", "subject": subject, "html": "<p>x</p>"},
            }
        ],
    }


def test_apply_from_json_then_unchanged_then_a_new_version(client: httpx.Client) -> None:
    first = client.post("/api/v1/workflows", json=json_document("v1-json"))
    again = client.post("/api/v1/workflows", json=json_document("v1-json"))
    changed = client.post("/api/v1/workflows", json=json_document("v1-json", subject="Hey"))

    assert first.status_code == 200, first.text
    assert first.json() == {
        "key": "v1-json",
        "version": 1,
        "status": "active",
        "created": True,
        "unchanged": False,
        "lists_created": [],
    }
    assert (again.json()["version"], again.json()["created"], again.json()["unchanged"]) == (
        1,
        False,
        True,
    )
    assert (changed.json()["version"], changed.json()["created"]) == (2, True)

    detail = client.get("/api/v1/workflows/v1-json").json()
    assert detail["version"] == 2
    assert [(v["version"], v["current"]) for v in detail["versions"]] == [(1, False), (2, True)]
    assert detail["document"]["steps"][0]["send_email"]["subject"] == "Hey"


@pytest.mark.parametrize("content_type", ["application/yaml", "text/yaml; charset=utf-8"])
def test_apply_from_yaml_creates_its_lists(
    client: httpx.Client, reader: Reader, content_type: str
) -> None:
    document = YAML_DOCUMENT.replace("v1-yaml", f"v1-yaml-{content_type[:4]}")
    answer = client.post(
        "/api/v1/workflows", content=document, headers={"content-type": content_type}
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["version"], body["created"], body["status"]) == (1, True, "active")
    stored = reader.value(
        "SELECT count(*) FROM workflow_versions v JOIN workflows w ON w.id = v.workflow_id "
        "WHERE w.key = :key",
        key=body["key"],
    )
    assert stored == 1
    assert reader.value("SELECT count(*) FROM lists WHERE name = 'V1 YAML list'") == 1


def test_draft_stays_draft_until_activated_and_the_lifecycle_shows(client: httpx.Client) -> None:
    applied = client.post(
        "/api/v1/workflows", params={"draft": "true"}, json=json_document("v1-life")
    )
    assert applied.json()["status"] == "draft"

    seen = []
    for verb in ("activate", "pause", "activate", "stop"):
        answer = client.post(f"/api/v1/workflows/v1-life/{verb}")
        assert answer.status_code == 200, answer.text
        seen.append((answer.json()["status"], client.get("/api/v1/workflows/v1-life").json()))

    assert [status for status, _ in seen] == ["active", "paused", "active", "stopped"]
    assert [detail["status"] for _, detail in seen] == ["active", "paused", "active", "stopped"]
    listed = {w["key"]: w for w in client.get("/api/v1/workflows").json()["workflows"]}
    assert listed["v1-life"]["status"] == "stopped"
    assert listed["v1-life"]["runs"]["entered"] == 0


def test_an_invalid_document_is_refused_naming_step_and_field(client: httpx.Client) -> None:
    document = json_document("v1-bad")
    document["steps"] = [
        {"id": "mail", "send_email": {"from": "shop@example.com", "html": "<p>x</p>"}},
        {"id": "wait", "delay": {"days": 0}},
    ]

    validated = client.post("/api/v1/workflows/validate", json=document)
    applied = client.post("/api/v1/workflows", json=document)

    for answer in (validated, applied):
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert body["code"] == "invalid_workflow"
        places = {(p["step"], p["field"]) for p in body["problems"]}
        assert ("mail", "send_email.subject") in places
        assert any(step == "wait" and (field or "").startswith("delay") for step, field in places)
    assert client.get("/api/v1/workflows/v1-bad").status_code == 404


def test_validate_accepts_a_good_document_without_storing_it(
    client: httpx.Client, reader: Reader
) -> None:
    document = YAML_DOCUMENT.replace("v1-yaml", "v1-only-validated")
    answer = client.post(
        "/api/v1/workflows/validate",
        content=document.replace("V1 YAML list", "V1 validated list"),
        headers={"content-type": "application/yaml"},
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "ok": True,
        "key": "v1-only-validated",
        "steps": 2,
        "lists_to_create": ["V1 validated list"],
    }
    assert client.get("/api/v1/workflows/v1-only-validated").status_code == 404
    assert reader.value("SELECT count(*) FROM lists WHERE name = 'V1 validated list'") == 0


def test_a_body_that_does_not_parse_is_refused(client: httpx.Client) -> None:
    broken = client.post(
        "/api/v1/workflows", content="key: [unclosed", headers={"content-type": "application/yaml"}
    )
    listed = client.post("/api/v1/workflows", json=["not", "a", "mapping"])

    assert broken.status_code == 422 and "not valid YAML" in broken.json()["message"]
    assert listed.status_code == 422 and "mapping" in listed.json()["problems"][0]["message"]


def test_the_graph_places_the_current_versions_steps_and_ways_out(client: httpx.Client) -> None:
    applied = client.post(
        "/api/v1/workflows", content=YAML_DOCUMENT, headers={"content-type": "application/yaml"}
    )
    assert applied.status_code == 200, applied.text
    graph = client.get("/api/v1/workflows/v1-yaml/graph").json()
    assert graph["key"] == "v1-yaml" and graph["version"] == applied.json()["version"]
    assert graph["entries"] == ["event: v1_yaml_signed_up"]
    assert [(n["id"], n["kind"], n["layer"], n["column"]) for n in graph["nodes"]] == [
        ("hello", "send_email", 0, 0),
        ("tag", "add_to_list", 1, 0),
        ("end", "end", 2, 0),
    ]
    none = {"waiting": 0}
    assert graph["edges"] == [
        {"source": "hello", "branch": "next", "target": "tag", "back": False, "count": 0, **none},
        {"source": "tag", "branch": "next", "target": "end", "back": False, "count": 0, **none},
    ]


def test_a_version_its_diff_and_a_rollback(client: httpx.Client) -> None:
    first = client.post("/api/v1/workflows", json=json_document("v1-roll", "First")).json()
    second = client.post("/api/v1/workflows", json=json_document("v1-roll", "Second")).json()
    assert (first["version"], second["version"]) == (1, 2)

    one = client.get("/api/v1/workflows/v1-roll/versions/1").json()
    assert (one["version"], one["current"], one["runs"]) == (1, False, 0)
    assert one["document"]["steps"][0]["send_email"]["subject"] == "First"
    diff = client.get("/api/v1/workflows/v1-roll/diff", params={"old": 1}).json()
    assert (diff["old"], diff["new"]) == (1, 2)
    assert "-    subject: First\n+    subject: Second\n" in diff["diff"]
    same = client.get("/api/v1/workflows/v1-roll/diff", params={"old": 2, "new": 2}).json()
    assert same["diff"] == ""

    rolled = client.post("/api/v1/workflows/v1-roll/rollback", params={"version": 1})
    assert rolled.status_code == 200, rolled.text
    assert (rolled.json()["version"], rolled.json()["created"]) == (3, True)
    detail = client.get("/api/v1/workflows/v1-roll").json()
    assert detail["document"]["steps"][0]["send_email"]["subject"] == "First"
    assert [v["current"] for v in detail["versions"]] == [False, False, True]
    again = client.post("/api/v1/workflows/v1-roll/rollback", params={"version": 3}).json()
    assert (again["version"], again["unchanged"]) == (3, True)

    for path, params in (
        ("/api/v1/workflows/v1-roll/versions/9", {}),
        ("/api/v1/workflows/v1-roll/diff", {"old": 9}),
    ):
        missing = client.get(path, params=params)
        assert missing.status_code == 404 and missing.json()["code"] == "document_not_found"
    refused = client.post("/api/v1/workflows/v1-roll/rollback", params={"version": 0})
    assert refused.status_code == 400, refused.text


def test_unknown_workflows_answer_404(client: httpx.Client) -> None:
    for method, path in (
        ("GET", "/api/v1/workflows/v1-none"),
        ("POST", "/api/v1/workflows/v1-none/pause"),
        ("GET", "/api/v1/workflows/v1-none/stats"),
        ("GET", "/api/v1/workflows/v1-none/runs"),
        ("GET", "/api/v1/workflows/v1-none/graph"),
        ("GET", "/api/v1/workflows/v1-none/versions/1"),
        ("GET", "/api/v1/workflows/v1-none/diff?old=1"),
        ("POST", "/api/v1/workflows/v1-none/rollback?version=1"),
    ):
        answer = client.request(method, path)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["code"] == "document_not_found"


def test_every_v1_route_wants_a_key_and_is_in_the_openapi_document(api_server: Server) -> None:
    with api_server.anonymous() as anonymous, api_server.client(**{"api-key": "wrong"}) as wrong:
        spec = anonymous.get("/openapi.json").json()
        paths = [p for p in spec["paths"] if p.startswith("/api/v1/")]
        for path in paths:
            for method in spec["paths"][path]:
                concrete = path.replace("{key}", "x").replace("{identifier}", "1")
                concrete = concrete.replace("{message_id}", "1").replace("{version}", "1")
                for http in (anonymous, wrong):
                    answer = http.request(method, concrete)
                    assert answer.status_code == 401, (method, path, answer.text)
                    assert answer.json()["code"] == "unauthorized"

    assert set(paths) >= {
        "/api/v1/workflows",
        "/api/v1/workflows/validate",
        "/api/v1/workflows/{key}",
        "/api/v1/workflows/{key}/activate",
        "/api/v1/workflows/{key}/pause",
        "/api/v1/workflows/{key}/stop",
        "/api/v1/workflows/{key}/stats",
        "/api/v1/workflows/{key}/runs",
        "/api/v1/workflows/{key}/graph",
        "/api/v1/workflows/{key}/simulate",
        "/api/v1/workflows/{key}/versions/{version}",
        "/api/v1/workflows/{key}/diff",
        "/api/v1/workflows/{key}/rollback",
        "/api/v1/contacts/{identifier}/runs",
        "/api/v1/contacts/{identifier}/timeline",
        "/api/v1/messages",
        "/api/v1/messages/{message_id}",
        "/api/v1/reports/conversions",
    }
    stats = spec["paths"]["/api/v1/workflows/{key}/stats"]["get"]["responses"]["200"]
    assert stats["content"]["application/json"]["schema"]["$ref"].endswith("/WorkflowStats")
    assert "StepStats" in spec["components"]["schemas"]
    refused = spec["paths"]["/api/v1/workflows"]["post"]["responses"]["422"]
    assert refused["content"]["application/json"]["schema"]["$ref"].endswith("/InvalidWorkflowBody")
