"""``POST /api/v1/workflows/{key}/simulate`` over real HTTP: the path with its reasons, the
messages it would send, a webhook answered as asked; nothing lands in the real store; bad
input and unknown keys are refused with Brevo-style errors."""

from __future__ import annotations

import httpx

from .api_support import Reader

DOCUMENT = {
    "key": "sim-api",
    "name": "Simulated over HTTP",
    "entry_points": [{"event": "sim_api_signed_up"}],
    "steps": [
        {
            "id": "score",
            "call_webhook": {"url": "https://crm.example.com/score"},
            "success": "check",
            "failure": "end",
        },
        {
            "id": "check",
            "if": {"webhook": {"step": "score", "path": "json.score", "gte": 50}},
            "then": "later",
            "else": "end",
        },
        {"id": "later", "delay": {"days": 2}, "next": "hello"},
        {
            "id": "hello",
            "send_email": {
                "from": "shop@example.com",
                "subject": "Hello {{ contact.FIRSTNAME }}, plan {{ event.properties.plan }}",
                "html": "<p>hi</p>",
            },
        },
    ],
}


def test_a_simulation_shows_the_path_and_the_email_and_stores_nothing(
    client: httpx.Client, reader: Reader
) -> None:
    assert client.post("/api/v1/workflows", json=DOCUMENT).status_code == 200
    before = reader.value("SELECT count(*) FROM messages")
    contacts = reader.value("SELECT count(*) FROM contacts")
    answer = client.post(
        "/api/v1/workflows/sim-api/simulate",
        json={
            "email": "sim-api-ann@example.com",
            "attributes": {"FIRSTNAME": "Ann"},
            "event_properties": {"plan": "pro"},
            "webhook": {"status": 200, "json": {"score": 80}},
        },
    )
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert (found["event"], found["entered"], found["finished"]) == (
        "sim_api_signed_up",
        True,
        True,
    )
    assert [(s["step_id"], s["result"]) for s in found["steps"]] == [
        ("score", "called"),
        ("score", "success"),
        ("check", "yes"),
        ("later", "waiting"),
        ("hello", "queued"),
    ]
    assert "json.score = 80" in found["steps"][2]["reason"]
    [email] = [m for m in found["messages"] if m["channel"] == "email"]
    assert email["subject"] == "Hello Ann, plan pro"
    assert found["webhooks"][0]["url"] == "https://crm.example.com/score"
    assert found["ended_at"] > found["started_at"]  # two days later, simulated
    assert reader.value("SELECT count(*) FROM messages") == before
    assert reader.value("SELECT count(*) FROM contacts") == contacts

    cold = client.post(
        "/api/v1/workflows/sim-api/simulate", json={"webhook": {"json": {"score": 3}}}
    ).json()
    assert [(s["step_id"], s["branch"]) for s in cold["steps"]][-1] == ("check", "else")
    assert cold["messages"][-1]["channel"] == "webhook"


def test_bad_scenarios_and_unknown_workflows_are_refused(client: httpx.Client) -> None:
    assert client.post("/api/v1/workflows", json=DOCUMENT).status_code == 200
    unknown = client.post("/api/v1/workflows/sim-none/simulate", json={})
    assert unknown.status_code == 404 and unknown.json()["code"] == "document_not_found"
    attribute = client.post(
        "/api/v1/workflows/sim-api/simulate", json={"attributes": {"NO_SUCH": 1}}
    )
    assert attribute.status_code == 400, attribute.text
    assert attribute.json()["code"] == "invalid_parameter"
    assert "unknown attribute 'NO_SUCH'" in attribute.json()["message"]
    horizon = client.post("/api/v1/workflows/sim-api/simulate", json={"horizon_days": 0})
    assert horizon.status_code == 400 and "horizon_days" in horizon.json()["message"]


def test_a_document_is_simulated_before_it_is_applied(client: httpx.Client) -> None:
    document = {**DOCUMENT, "key": "sim-draft", "name": "Not applied"}
    answer = client.post(
        "/api/v1/workflows/simulate",
        json={"document": document, "webhook": {"json": {"score": 99}}},
    )
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert (found["workflow"], found["finished"]) == ("sim-draft", True)
    assert [s["step_id"] for s in found["steps"]][-1] == "hello"
    assert client.get("/api/v1/workflows/sim-draft").status_code == 404  # not stored

    broken = {**document, "steps": [{"id": "x", "go_to": "nowhere"}]}
    refused = client.post("/api/v1/workflows/simulate", json={"document": broken})
    assert refused.status_code == 422, refused.text
    assert refused.json()["problems"][0]["step"] == "x"


def test_a_later_event_is_part_of_the_scenario(client: httpx.Client) -> None:
    document = {
        "key": "sim-later",
        "name": "Wait for a reply",
        "entry_points": [{"event": "sim_asked"}],
        "steps": [
            {
                "id": "reply",
                "wait_for_event": {"event": "sim_replied", "timeout": {"days": 2}},
                "then": "end",
                "else": "end",
            }
        ],
    }
    answer = client.post(
        "/api/v1/workflows/simulate",
        json={
            "document": document,
            "then_events": [{"after_minutes": 90, "event_name": "sim_replied"}],
        },
    )
    assert answer.status_code == 200, answer.text
    steps = answer.json()["steps"]
    assert [(s["step_id"], s["branch"]) for s in steps][-1] == ("reply", "then")
    refused = client.post(
        "/api/v1/workflows/simulate",
        json={"document": document, "then_events": [{"after_minutes": -1, "event_name": "x"}]},
    )
    assert refused.status_code == 400, refused.text
