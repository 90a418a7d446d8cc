"""``/v3/contacts/folders`` over HTTP: folders are routes of their own (not a contact named
"folders"), hold lists, and count the lists' members."""

from __future__ import annotations

from pathlib import Path

import httpx

from .api_support import Server, cli


def error(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["code"]


def test_folders_are_created_read_renamed_listed_and_deleted(backend_server: Server) -> None:
    with backend_server.client() as http:
        created = http.post("/v3/contacts/folders", json={"name": "Shop"})
        assert created.status_code == 201, created.text
        folder = created.json()["id"]
        news = http.post("/v3/contacts/lists", json={"name": "Folder news", "folderId": folder})
        deals = http.post("/v3/contacts/lists", json={"name": "Folder deals", "folderId": folder})
        loose = http.post("/v3/contacts/lists", json={"name": "Folder loose"})
        ids = [a.json()["id"] for a in (news, deals, loose)]
        http.post("/v3/contacts", json={"email": "fo1@example.com", "listIds": ids[:2]})
        http.post(
            "/v3/contacts",
            json={"email": "fo2@example.com", "listIds": ids[:1], "emailBlacklisted": True},
        )

        read = http.get(f"/v3/contacts/folders/{folder}")
        renamed = http.put(f"/v3/contacts/folders/{folder}", json={"name": "Shop lists"})
        page = http.get("/v3/contacts/folders", params={"limit": 50})
        in_folder = http.get(f"/v3/contacts/folders/{folder}/lists", params={"sort": "asc"})
        first = http.get("/v3/contacts/folders/1/lists", params={"limit": 50})
        deleted = http.delete(f"/v3/contacts/folders/{folder}")
        gone = [
            http.get(f"/v3/contacts/folders/{folder}"),
            http.get(f"/v3/contacts/lists/{ids[0]}"),
            http.get(f"/v3/contacts/folders/{folder}/lists"),
        ]
        kept = http.get(f"/v3/contacts/lists/{ids[2]}")

    assert read.status_code == 200, read.text
    assert read.json() == {
        "id": folder,
        "name": "Shop",
        "totalBlacklisted": 1,
        "totalSubscribers": 3,
        "uniqueSubscribers": 2,
    }
    assert renamed.status_code == 204
    folders = {f["id"]: f for f in page.json()["folders"]}
    assert folders[folder]["name"] == "Shop lists"
    assert folders[1]["name"] == "Your first folder"
    assert page.json()["count"] == len(folders)
    assert [x["name"] for x in in_folder.json()["lists"]] == ["Folder news", "Folder deals"]
    assert in_folder.json()["count"] == 2
    assert {x["folderId"] for x in in_folder.json()["lists"]} == {folder}
    assert "Folder loose" in [x["name"] for x in first.json()["lists"]]
    assert deleted.status_code == 204
    assert [error(a) for a in gone] == [(404, "document_not_found")] * 3
    assert kept.status_code == 200 and kept.json()["folderId"] == 1


def test_folder_refusals_are_brevo_errors(api_server: Server, tmp_path: Path) -> None:
    with api_server.client() as client:
        answers = refusals(client, api_server, tmp_path)

    assert {k: error(a) for k, a in answers.items()} == {
        "no name": (400, "missing_parameter"),
        "unknown folder for a list": (400, "invalid_parameter"),
        "first folder": (400, "invalid_parameter"),
        "used list": (400, "invalid_parameter"),
        "missing": (404, "document_not_found"),
        "missing lists": (404, "document_not_found"),
        "rename missing": (404, "document_not_found"),
        "id too large": (400, "invalid_parameter"),
    }
    assert "folderId 424242" in answers["unknown folder for a list"].json()["message"]
    assert "folder-uses" in answers["used list"].json()["message"]


def refusals(client: httpx.Client, server: Server, tmp_path: Path) -> dict[str, httpx.Response]:
    folder = client.post("/v3/contacts/folders", json={"name": "Used"}).json()["id"]
    client.post("/v3/contacts/lists", json={"name": "Folder used list", "folderId": folder})
    document = tmp_path / "uses.yaml"
    document.write_text(
        "key: folder-uses\nname: Uses a list\nentry_points:\n  - list_added: Folder used list\n"
        "steps:\n  - id: tag\n    add_to_list: {lists: Folder used list}\n"
    )
    cli(tmp_path, server.db_url, "workflow", "apply", str(document))
    return {
        "no name": client.post("/v3/contacts/folders", json={}),
        "unknown folder for a list": client.post(
            "/v3/contacts/lists", json={"name": "Nowhere", "folderId": 424242}
        ),
        "first folder": client.delete("/v3/contacts/folders/1"),
        "used list": client.delete(f"/v3/contacts/folders/{folder}"),
        "missing": client.get("/v3/contacts/folders/424242"),
        "missing lists": client.get("/v3/contacts/folders/424242/lists"),
        "rename missing": client.put("/v3/contacts/folders/424242", json={"name": "x"}),
        "id too large": client.get(f"/v3/contacts/folders/{2**40}"),
    }
