"""``/v3/contacts/lists`` over HTTP: lists, their members, Brevo's answers and errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from .api_support import Server, cli


def error(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["code"]


def new_list(http: httpx.Client, name: str, **body: Any) -> int:
    answer = http.post("/v3/contacts/lists", json={"name": name, **body})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def create(http: httpx.Client, *emails: str) -> list[int]:
    ids = []
    for email in emails:
        answer = http.post("/v3/contacts", json={"email": email})
        assert answer.status_code == 201, answer.text
        ids.append(int(answer.json()["id"]))
    return ids


def test_a_list_is_created_read_renamed_and_deleted(client: httpx.Client) -> None:
    folder = client.post("/v3/contacts/folders", json={"name": "Newsletters"}).json()["id"]
    list_id = new_list(client, "Newsletter", folderId=folder)

    details = client.get(f"/v3/contacts/lists/{list_id}").json()
    renamed = client.put(f"/v3/contacts/lists/{list_id}", json={"name": "Weekly newsletter"})
    after = client.get(f"/v3/contacts/lists/{list_id}").json()
    deleted = client.delete(f"/v3/contacts/lists/{list_id}")

    assert details["name"] == "Newsletter"
    assert details["folderId"] == folder
    assert (details["totalSubscribers"], details["totalBlacklisted"]) == (0, 0)
    assert details["createdAt"].endswith("Z")
    assert renamed.status_code == 204
    assert after["name"] == "Weekly newsletter"
    assert deleted.status_code == 204
    assert error(client.get(f"/v3/contacts/lists/{list_id}")) == (404, "document_not_found")


def test_lists_are_paged_with_their_counts(client: httpx.Client) -> None:
    a, b = new_list(client, "Paged A"), new_list(client, "Paged B")
    client.post("/v3/contacts", json={"email": "pl@example.com", "listIds": [a, b]})
    client.post(
        "/v3/contacts", json={"email": "pl2@example.com", "listIds": [b], "emailBlacklisted": True}
    )

    page = client.get("/v3/contacts/lists", params={"limit": 50}).json()
    newest = client.get("/v3/contacts/lists", params={"limit": 1}).json()

    by_id = {item["id"]: item for item in page["lists"]}
    assert page["count"] == len(page["lists"])
    assert (by_id[a]["totalSubscribers"], by_id[b]["totalSubscribers"]) == (1, 2)
    assert by_id[b]["totalBlacklisted"] == 1
    assert [item["id"] for item in newest["lists"]] == [max(by_id)]


def test_list_errors_use_brevo_codes(client: httpx.Client) -> None:
    new_list(client, "Taken")

    assert error(client.post("/v3/contacts/lists", json={"name": "Taken"})) == (
        400,
        "duplicate_parameter",
    )
    assert error(client.post("/v3/contacts/lists", json={"folderId": 1})) == (
        400,
        "missing_parameter",
    )
    assert error(client.put("/v3/contacts/lists/9999", json={"name": "x"})) == (
        404,
        "document_not_found",
    )
    assert error(client.delete("/v3/contacts/lists/9999")) == (404, "document_not_found")
    assert error(client.get("/v3/contacts/lists/not-a-number")) == (400, "invalid_parameter")


def test_members_are_added_and_removed_with_success_and_failure(client: httpx.Client) -> None:
    list_id = new_list(client, "Members")
    ann, _ben = create(client, "m-ann@example.com", "m-ben@example.com")

    added = client.post(
        f"/v3/contacts/lists/{list_id}/contacts/add",
        json={"emails": ["M-Ann@example.com", "m-ben@example.com", "m-nobody@example.com"]},
    )
    again = client.post(f"/v3/contacts/lists/{list_id}/contacts/add", json={"ids": [ann]})
    members = client.get(f"/v3/contacts/lists/{list_id}/contacts").json()
    removed = client.post(
        f"/v3/contacts/lists/{list_id}/contacts/remove", json={"ids": [ann, 424242]}
    )
    left = client.get(f"/v3/contacts/lists/{list_id}/contacts").json()

    assert added.status_code == 201
    assert added.json() == {
        "contacts": {
            "success": ["M-Ann@example.com", "m-ben@example.com"],
            "failure": ["m-nobody@example.com"],
        }
    }
    assert error(again) == (400, "invalid_parameter")
    assert members["count"] == 2
    assert {c["email"] for c in members["contacts"]} == {"m-ann@example.com", "m-ben@example.com"}
    assert removed.json() == {"contacts": {"success": [ann], "failure": [424242]}}
    assert [c["email"] for c in left["contacts"]] == ["m-ben@example.com"]


def test_removing_all_members_empties_the_list(client: httpx.Client) -> None:
    list_id = new_list(client, "Everyone")
    create(client, "all1@example.com", "all2@example.com")
    client.post(
        f"/v3/contacts/lists/{list_id}/contacts/add",
        json={"emails": ["all1@example.com", "all2@example.com"]},
    )

    answer = client.post(f"/v3/contacts/lists/{list_id}/contacts/remove", json={"all": True})

    assert answer.status_code == 201
    assert answer.json() == {"contacts": {"total": 2}}
    assert client.get(f"/v3/contacts/lists/{list_id}").json()["totalSubscribers"] == 0
    assert error(client.post(f"/v3/contacts/lists/{list_id}/contacts/add", json={})) == (
        400,
        "missing_parameter",
    )


def test_a_list_a_workflow_uses_is_neither_renamed_nor_deleted(
    client: httpx.Client, api_server: Server, tmp_path: Path
) -> None:
    workflow = tmp_path / "loyal.yaml"
    workflow.write_text(
        "key: loyal\nname: Loyal\nentry_points:\n  - event: purchase\n"
        "steps:\n  - id: add\n    add_to_list: {lists: [Loyal customers]}\n"
    )
    cli(tmp_path, api_server.db_url, "workflow", "apply", str(workflow))
    found = client.get("/v3/contacts/lists", params={"limit": 50}).json()["lists"]
    list_id = next(item["id"] for item in found if item["name"] == "Loyal customers")

    renamed = client.put(f"/v3/contacts/lists/{list_id}", json={"name": "Gold"})
    deleted = client.delete(f"/v3/contacts/lists/{list_id}")

    assert error(renamed) == (400, "invalid_parameter")
    assert "loyal" in renamed.json()["message"]
    assert error(deleted) == (400, "invalid_parameter")
    assert client.get(f"/v3/contacts/lists/{list_id}").json()["name"] == "Loyal customers"


def test_values_the_database_cannot_hold_are_refused_naming_the_field(
    backend_server: Server,
) -> None:
    """Found by schemathesis on PostgreSQL (the folder id by a probe): each was a 500 before."""
    with backend_server.client() as http:
        list_id = new_list(http, "Holds")
        answers = {
            "listId": http.get(f"/v3/contacts/lists/{2**31}"),  # INTEGER column
            "name": http.post("/v3/contacts/lists", json={"name": "nul\u0000name"}),
            "folderId": http.post("/v3/contacts/lists", json={"name": "F", "folderId": 10**30}),
            "ids": http.post(f"/v3/contacts/lists/{list_id}/contacts/add", json={"ids": [2**63]}),
        }
        too_long = http.put(f"/v3/contacts/lists/{list_id}", json={"name": "n" * 201})
        kept = http.get(f"/v3/contacts/lists/{list_id}").json()["name"]

    for field, answer in answers.items():
        assert error(answer) == (400, "invalid_parameter"), answer.text
        assert answer.json()["message"].startswith(field), answer.text
    assert error(too_long) == (400, "invalid_parameter")
    assert "200 characters" in too_long.json()["message"]
    assert kept == "Holds"
