"""``/v3/contacts/attributes`` over HTTP: Brevo's categories and types mapped onto
Journeyman's attribute definitions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from .api_support import Server, cli


def error(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["code"]


def attributes(http: httpx.Client) -> dict[str, dict[str, Any]]:
    answer = http.get("/v3/contacts/attributes")
    assert answer.status_code == 200
    return {a["name"]: a for a in answer.json()["attributes"]}


@pytest.mark.parametrize(
    ("brevo_type", "shown", "value", "stored"),
    [
        ("text", "text", 12, "12"),
        ("float", "float", "2.5", 2.5),
        ("date", "date", "1990-05-17", "1990-05-17"),
        ("boolean", "boolean", "yes", True),
    ],
)
def test_a_normal_attribute_is_defined_and_typed(
    client: httpx.Client, brevo_type: str, shown: str, value: Any, stored: Any
) -> None:
    name = f"A_{brevo_type.upper()}"

    created = client.post(f"/v3/contacts/attributes/normal/{name}", json={"type": brevo_type})
    client.post(
        "/v3/contacts", json={"email": f"{brevo_type}@example.com", "attributes": {name: value}}
    )

    assert created.status_code == 201
    assert attributes(client)[name] == {"name": name, "category": "normal", "type": shown}
    found = client.get(f"/v3/contacts/{brevo_type}@example.com").json()
    assert found["attributes"] == {name: stored}


def test_a_category_attribute_has_an_enumeration_that_can_change(client: httpx.Client) -> None:
    created = client.post(
        "/v3/contacts/attributes/category/TIER",
        json={"enumeration": [{"value": 2, "label": "silver"}, {"value": 1, "label": "bronze"}]},
    )
    updated = client.put(
        "/v3/contacts/attributes/category/TIER",
        json={"enumeration": [{"value": 1, "label": "bronze"}, {"value": 2, "label": "gold"}]},
    )

    assert (created.status_code, updated.status_code) == (201, 204)
    assert attributes(client)["TIER"] == {
        "name": "TIER",
        "category": "category",
        "enumeration": [{"value": 1, "label": "bronze"}, {"value": 2, "label": "gold"}],
    }
    by_number = client.post(
        "/v3/contacts", json={"email": "t@example.com", "attributes": {"TIER": 2}}
    )
    assert by_number.status_code == 201
    assert client.get("/v3/contacts/t@example.com").json()["attributes"] == {"TIER": "gold"}


def test_a_deleted_attribute_leaves_every_contact(client: httpx.Client) -> None:
    client.post("/v3/contacts/attributes/normal/SHOE", json={"type": "float"})
    client.post("/v3/contacts", json={"email": "shoe@example.com", "attributes": {"SHOE": 42}})

    deleted = client.delete("/v3/contacts/attributes/normal/SHOE")

    assert deleted.status_code == 204
    assert "SHOE" not in attributes(client)
    assert client.get("/v3/contacts/shoe@example.com").json()["attributes"] == {}
    assert error(client.delete("/v3/contacts/attributes/normal/SHOE")) == (
        404,
        "document_not_found",
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("POST", "normal/FIRSTNAME", {"type": "text"}, (400, "duplicate_parameter")),
        ("POST", "normal/NEW_ONE", {}, (400, "missing_parameter")),
        ("POST", "normal/NEW_ONE", {"type": "multiple-choice"}, (400, "invalid_parameter")),
        ("POST", "normal/EMAIL", {"type": "text"}, (400, "invalid_parameter")),
        ("POST", "normal/1BAD", {"type": "text"}, (400, "invalid_parameter")),
        ("POST", "global/RATE", {"value": "1"}, (400, "invalid_parameter")),
        ("POST", "category/NO_VALUES", {}, (400, "missing_parameter")),
        (
            "PUT",
            "normal/FIRSTNAME",
            {"enumeration": [{"value": 1, "label": "x"}]},
            (400, "invalid_parameter"),
        ),
        (
            "PUT",
            "category/FIRSTNAME",
            {"enumeration": [{"value": 1, "label": "x"}]},
            (404, "document_not_found"),
        ),
        ("DELETE", "normal/NOPE", None, (404, "document_not_found")),
    ],
)
def test_attribute_errors_use_brevo_codes(
    client: httpx.Client,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    expected: tuple[int, str],
) -> None:
    answer = client.request(method, f"/v3/contacts/attributes/{path}", json=body)

    assert error(answer) == expected


def test_an_attribute_a_workflow_uses_is_not_deleted(
    client: httpx.Client, api_server: Server, tmp_path: Path
) -> None:
    client.post("/v3/contacts/attributes/normal/NICKNAME", json={"type": "text"})
    workflow = tmp_path / "greet.yaml"
    workflow.write_text(
        "key: greet\nname: Greet\nentry_points:\n  - event: signup\nsteps:\n"
        "  - id: hello\n    send_email:\n      subject: 'Hi {{ contact.NICKNAME }}'\n"
        "      html: '<p>Hi</p>'\n      from: shop@example.com\n"
    )
    cli(tmp_path, api_server.db_url, "workflow", "apply", str(workflow))

    answer = client.delete("/v3/contacts/attributes/normal/NICKNAME")

    assert error(answer) == (400, "invalid_parameter")
    assert "greet" in answer.json()["message"]
    assert "NICKNAME" in attributes(client)
