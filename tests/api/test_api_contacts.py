"""``/v3/contacts`` over HTTP: create, read by each identifier, update, delete, page, batch
update and import, with Brevo's error codes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .api_support import Server


def create(http: httpx.Client, email: str, **body: Any) -> int:
    answer = http.post("/v3/contacts", json={"email": email, **body})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def contact(http: httpx.Client, identifier: str | int, **params: str) -> dict[str, Any]:
    answer = http.get(f"/v3/contacts/{identifier}", params=params)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def new_list(http: httpx.Client, name: str) -> int:
    answer = http.post("/v3/contacts/lists", json={"name": name, "folderId": 1})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def error(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["code"]


@pytest.fixture(scope="module", autouse=True)
def attributes(api_server: Any) -> None:
    with api_server.client() as http:
        assert http.post("/v3/contacts/attributes/normal/AGE", json={"type": "float"}).is_success
        plan = {"enumeration": [{"value": 1, "label": "free"}, {"value": 2, "label": "pro"}]}
        assert http.post("/v3/contacts/attributes/category/PLAN", json=plan).is_success


def test_a_created_contact_is_found_by_each_identifier(client: httpx.Client) -> None:
    vip = new_list(client, "Contacts VIP")
    contact_id = create(
        client,
        "Ada@Example.com",
        ext_id="crm-ada",
        attributes={"FIRSTNAME": "Ada", "AGE": "36", "SMS": "+49 151 1234567", "PLAN": 2},
        listIds=[vip],
    )

    by_email = contact(client, "ada@example.com")
    assert by_email["id"] == contact_id
    assert by_email["email"] == "ada@example.com"
    assert by_email["attributes"] == {
        "FIRSTNAME": "Ada",
        "AGE": 36,
        "PLAN": "pro",
        "SMS": "+491511234567",
        "EXT_ID": "crm-ada",
    }
    assert by_email["listIds"] == [vip]
    assert (by_email["emailBlacklisted"], by_email["smsBlacklisted"]) == (False, False)
    assert by_email["createdAt"].endswith("Z") and len(by_email["createdAt"]) == 24
    assert contact(client, contact_id) == by_email
    assert contact(client, "crm-ada", identifierType="ext_id") == by_email
    assert contact(client, "+491511234567", identifierType="phone_id") == by_email
    assert contact(client, str(contact_id), identifierType="contact_id") == by_email


def test_creating_an_existing_contact_needs_update_enabled(client: httpx.Client) -> None:
    create(client, "bob@example.com", attributes={"FIRSTNAME": "Bob"})

    again = client.post("/v3/contacts", json={"email": "BOB@example.com"})
    updated = client.post(
        "/v3/contacts",
        json={"email": "bob@example.com", "attributes": {"AGE": 40}, "updateEnabled": True},
    )

    assert error(again) == (400, "duplicate_parameter")
    assert updated.status_code == 204
    assert contact(client, "bob@example.com")["attributes"] == {"FIRSTNAME": "Bob", "AGE": 40}


@pytest.mark.parametrize(
    ("body", "expected", "named"),
    [
        ({"attributes": {"FIRSTNAME": "X"}}, (400, "missing_parameter"), "email"),
        ({"email": "not-an-email"}, (400, "invalid_parameter"), "not-an-email"),
        (
            {"email": "x@example.com", "attributes": {"SHOE": 42}},
            (400, "invalid_parameter"),
            "SHOE",
        ),
        (
            {"email": "x@example.com", "attributes": {"AGE": "old"}},
            (400, "invalid_parameter"),
            "AGE",
        ),
        (
            {"email": "x@example.com", "attributes": {"PLAN": "gold"}},
            (400, "invalid_parameter"),
            "gold",
        ),
        ({"email": "x@example.com", "listIds": [9999]}, (400, "invalid_parameter"), "9999"),
        ({"email": "x@example.com", "listIds": "one"}, (400, "invalid_parameter"), "listIds"),
    ],
)
def test_a_refused_contact_is_not_created(
    client: httpx.Client, body: dict[str, Any], expected: tuple[int, str], named: str
) -> None:
    answer = client.post("/v3/contacts", json=body)

    assert error(answer) == expected
    assert named in answer.json()["message"]
    assert client.get("/v3/contacts/x@example.com").status_code == 404


def test_an_ext_id_or_sms_of_another_contact_is_a_duplicate(client: httpx.Client) -> None:
    create(client, "first@example.com", ext_id="crm-first", attributes={"SMS": "+4915199999"})

    same_ext_id = client.post(
        "/v3/contacts", json={"email": "second@example.com", "ext_id": "crm-first"}
    )
    same_sms = client.post(
        "/v3/contacts", json={"email": "second@example.com", "attributes": {"SMS": "+4915199999"}}
    )

    assert error(same_ext_id) == (400, "duplicate_parameter")
    assert error(same_sms) == (400, "duplicate_parameter")


def test_update_sets_and_clears_attributes_flags_lists_and_email(client: httpx.Client) -> None:
    keep, leave = new_list(client, "Update keep"), new_list(client, "Update leave")
    contact_id = create(
        client, "cy@example.com", attributes={"FIRSTNAME": "Cy", "AGE": 20}, listIds=[leave]
    )

    answer = client.put(
        "/v3/contacts/cy@example.com",
        json={
            "attributes": {"AGE": 21, "FIRSTNAME": "", "EMAIL": "cyrus@example.com"},
            "emailBlacklisted": True,
            "listIds": [keep],
            "unlinkListIds": [leave],
        },
    )

    assert answer.status_code == 204, answer.text
    found = contact(client, contact_id)
    assert found["email"] == "cyrus@example.com"
    assert found["attributes"] == {"AGE": 21}
    assert found["emailBlacklisted"] is True
    assert found["listIds"] == [keep]
    assert client.get("/v3/contacts/cy@example.com").status_code == 404
    client.put(f"/v3/contacts/{contact_id}", json={"emailBlacklisted": False})
    assert contact(client, contact_id)["emailBlacklisted"] is False


def test_update_and_delete_of_a_missing_contact_are_not_found(client: httpx.Client) -> None:
    assert error(client.put("/v3/contacts/nobody@example.com", json={})) == (
        404,
        "document_not_found",
    )
    assert error(client.delete("/v3/contacts/424242")) == (404, "document_not_found")
    assert error(client.get("/v3/contacts/x", params={"identifierType": "shoe"})) == (
        400,
        "invalid_parameter",
    )


def test_a_deleted_contact_is_gone_with_its_events(client: httpx.Client) -> None:
    contact_id = create(client, "dee@example.com")
    event = {"event_name": "login", "identifiers": {"contact_id": contact_id}}
    assert client.post("/v3/events", json=event).status_code == 204

    assert client.delete("/v3/contacts/dee@example.com").status_code == 204

    assert error(client.get(f"/v3/contacts/{contact_id}")) == (404, "document_not_found")
    assert client.get("/v3/events", params={"contact_id": contact_id}).json()["count"] == 0


def test_contacts_are_paged_newest_first_and_filtered(client: httpx.Client) -> None:
    paged = new_list(client, "Paged")
    ids = [create(client, f"page{i}@example.com", listIds=[paged]) for i in range(5)]

    first = client.get("/v3/contacts", params={"listIds": paged, "limit": 2}).json()
    rest = client.get("/v3/contacts", params={"listIds": paged, "limit": 10, "offset": 2}).json()
    oldest = client.get("/v3/contacts", params={"listIds": paged, "sort": "asc", "limit": 1}).json()
    since = contact(client, ids[3])["modifiedAt"]
    modified = client.get("/v3/contacts", params={"listIds": paged, "modifiedSince": since}).json()

    assert first["count"] == 5
    assert [c["id"] for c in first["contacts"]] == ids[:2:-1][:2]
    assert [c["id"] for c in first["contacts"] + rest["contacts"]] == ids[::-1]
    assert [c["id"] for c in oldest["contacts"]] == ids[:1]
    assert {c["id"] for c in modified["contacts"]} >= {ids[3], ids[4]}
    assert error(client.get("/v3/contacts", params={"limit": 5000})) == (400, "invalid_parameter")
    assert error(client.get("/v3/contacts", params={"modifiedSince": "yesterday"})) == (
        400,
        "invalid_parameter",
    )


def test_batch_updates_every_contact_or_none(client: httpx.Client) -> None:
    ann = create(client, "ann@example.com")
    create(client, "ben@example.com")
    good = [
        {"id": ann, "attributes": {"AGE": 30}},
        {"email": "ben@example.com", "attributes": {"AGE": 31}, "smsBlacklisted": True},
    ]

    refused = client.post(
        "/v3/contacts/batch", json={"contacts": [*good, {"email": "nobody@example.com"}]}
    )
    accepted = client.post("/v3/contacts/batch", json={"contacts": good})

    assert error(refused) == (404, "document_not_found")
    assert refused.json()["message"].startswith("contacts[2]:")
    assert accepted.status_code == 204
    assert contact(client, ann)["attributes"] == {"AGE": 30}
    ben = contact(client, "ben@example.com")
    assert (ben["attributes"], ben["smsBlacklisted"]) == ({"AGE": 31}, True)


def test_import_keeps_good_rows_and_reports_bad_ones(client: httpx.Client) -> None:
    imported = new_list(client, "Imported")
    create(client, "old@example.com", attributes={"FIRSTNAME": "Old"})

    answer = client.post(
        "/v3/contacts/import",
        json={
            "jsonBody": [
                {"email": "new1@example.com", "attributes": {"FIRSTNAME": "One", "AGE": 1}},
                {"email": "broken", "attributes": {}},
                {"email": "old@example.com", "attributes": {"FIRSTNAME": "Changed"}},
                {"email": "new2@example.com", "attributes": {"AGE": "x"}},
            ],
            "listIds": [imported],
            "updateExistingContacts": False,
        },
    )

    assert answer.status_code == 202, answer.text
    report = answer.json()
    assert isinstance(report["processId"], int)
    assert (report["created"], report["updated"], report["skipped"]) == (1, 0, 1)
    assert [f["index"] for f in report["failures"]] == [1, 3]
    assert contact(client, "new1@example.com")["listIds"] == [imported]
    assert contact(client, "old@example.com")["attributes"] == {"FIRSTNAME": "Old"}


def test_import_reads_a_csv_file_body(client: httpx.Client) -> None:
    answer = client.post(
        "/v3/contacts/import",
        json={"fileBody": "EMAIL;FIRSTNAME;AGE\ncsv1@example.com;Csv;7\ncsv2@example.com;;\n"},
    )

    assert answer.status_code == 202, answer.text
    assert answer.json()["created"] == 2
    assert contact(client, "csv1@example.com")["attributes"] == {"FIRSTNAME": "Csv", "AGE": 7}
    assert error(client.post("/v3/contacts/import", json={"listIds": [1]})) == (
        400,
        "missing_parameter",
    )


def test_values_the_database_cannot_hold_are_refused_naming_the_field(
    backend_server: Server,
) -> None:
    """Each was a 500 (a driver or JSON error) before: schemathesis found the ids and the NUL
    character, probes of the same edges the rest."""
    with backend_server.client() as http:
        http.post("/v3/contacts/attributes/normal/HOLDS_SCORE", json={"type": "float"})
        email = "holds@example.com"
        answers = {
            "listIds": http.get("/v3/contacts", params={"listIds": 2**40}),  # INTEGER
            "ids": http.get("/v3/contacts", params={"ids": 2**70}),  # past BIGINT
            "identifier": http.get("/v3/contacts/nul%00@example.com"),
            "attributes.HOLDS_SCORE": http.post(
                "/v3/contacts", json={"email": email, "attributes": {"HOLDS_SCORE": 10**30}}
            ),
            "attribute HOLDS_SCORE": http.post(
                "/v3/contacts", json={"email": email, "attributes": {"HOLDS_SCORE": "1e400"}}
            ),
            "email": http.post("/v3/contacts", json={"email": "e" * 320 + "@example.com"}),
            "ext_id": http.post(
                "/v3/contacts", json={"email": email, "attributes": {"EXT_ID": "x" * 201}}
            ),
            "TIMEZONE": http.post(
                "/v3/contacts", json={"email": email, "attributes": {"TIMEZONE": "Z" * 5000}}
            ),
        }
        created = http.get(f"/v3/contacts/{email}")

    for field, answer in answers.items():
        assert error(answer) == (400, "invalid_parameter"), answer.text
        assert answer.json()["message"].startswith(field), answer.text
    assert created.status_code == 404


def test_a_value_given_to_two_contacts_of_one_request_is_a_duplicate(
    backend_server: Server,
) -> None:
    """Found probing beside schemathesis: the unique index refused the second (a 500)."""
    with backend_server.client() as http:
        rows = [
            {"email": f"twin{i}@example.com", "attributes": {"SMS": "+4915100000001"}}
            for i in (1, 2)
        ]
        same_sms = http.post("/v3/contacts/import", json={"jsonBody": rows})
        same_ext_id = http.post(
            "/v3/contacts/import",
            json={"jsonBody": [{**row, "attributes": {"EXT_ID": "twin"}} for row in rows]},
        )
        create(http, "twin3@example.com")
        create(http, "twin4@example.com")
        renames = [
            {"email": f"twin{i}@example.com", "attributes": {"EMAIL": "twins@example.com"}}
            for i in (3, 4)
        ]
        same_email = http.post("/v3/contacts/batch", json={"contacts": renames})
        found = [http.get(f"/v3/contacts/twin{i}@example.com").status_code for i in range(1, 5)]

    for answer in (same_sms, same_ext_id, same_email):
        assert error(answer) == (400, "duplicate_parameter"), answer.text
        assert "two contacts" in answer.json()["message"]
    assert found == [404, 404, 200, 200]


def test_import_refusals_reach_the_answer(backend_server: Server) -> None:
    """An import with no good row and ``updateExistingContacts`` false failed on PostgreSQL
    (an empty array; found by schemathesis), a CSV field over 128 KiB everywhere (a probe)."""
    with backend_server.client() as http:
        none_good = http.post(
            "/v3/contacts/import",
            json={"jsonBody": [{"email": "not-an-email"}], "updateExistingContacts": False},
        )
        csv = "EMAIL;FIRSTNAME\nh@example.com;" + "x" * (2**17 + 1)
        huge_field = http.post("/v3/contacts/import", json={"fileBody": csv})

    assert none_good.status_code == 202, none_good.text
    assert (none_good.json()["created"], none_good.json()["skipped"]) == (0, 0)
    assert [f["index"] for f in none_good.json()["failures"]] == [0]
    assert error(huge_field) == (400, "invalid_parameter")
    assert huge_field.json()["message"].startswith("fileBody")


def test_the_contacts_page_honours_brevo_filters_or_refuses_them(backend_server: Server) -> None:
    """A filter is never ignored (issue 20: a script deleting by filter would have deleted
    everyone): equals on an attribute or EMAIL is honoured, anything else is a 400."""
    with backend_server.client() as http:
        http.post("/v3/contacts/attributes/normal/F_NAME", json={"type": "text"})
        http.post("/v3/contacts/attributes/normal/F_SCORE", json={"type": "float"})
        http.post("/v3/contacts/attributes/normal/F_VIP", json={"type": "boolean"})
        http.post(
            "/v3/contacts/attributes/category/F_TIER",
            json={"enumeration": [{"value": 1, "label": "bronze"}, {"value": 2, "label": "gold"}]},
        )
        jane = {"F_NAME": "Jane", "F_SCORE": 7, "F_VIP": True, "F_TIER": "gold"}
        create(http, "f-jane@example.com", attributes=jane)
        create(http, "f-max@example.com", attributes={"F_NAME": "Max", "F_SCORE": 8})

        def emails(text: str) -> list[str]:
            answer = http.get("/v3/contacts", params={"filter": text})
            assert answer.status_code == 200, answer.text
            assert answer.json()["count"] == len(answer.json()["contacts"])
            return [c["email"] for c in answer.json()["contacts"]]

        assert emails('equals(F_NAME,"Jane")') == ["f-jane@example.com"]
        assert emails('equals(F_NAME, "Nobody")') == []
        assert emails("equals(F_SCORE,8)") == ["f-max@example.com"]
        assert emails("equals(F_VIP, true)") == ["f-jane@example.com"]
        assert emails('equals(F_TIER,"gold")') == emails('equals(F_TIER,"2")')
        assert emails('equals(F_TIER,"2")') == ["f-jane@example.com"]
        assert emails('equals(EMAIL,"F-Max@Example.com")') == ["f-max@example.com"]
        later = http.get(
            "/v3/contacts",
            params={"filter": 'equals(F_NAME,"Jane")', "createdSince": "2999-01-01T00:00:00Z"},
        )
        assert later.json() == {"contacts": [], "count": 0}  # createdSince is honoured too

        refused = {
            "contains(F_NAME,Ja)": http.get(
                "/v3/contacts", params={"filter": "contains(F_NAME,Ja)"}
            ),
            "F_NAME=Jane": http.get("/v3/contacts", params={"filter": "F_NAME=Jane"}),
            "no attribute": http.get("/v3/contacts", params={"filter": 'equals(NOPE,"x")'}),
            "a number": http.get("/v3/contacts", params={"filter": 'equals(F_SCORE,"many")'}),
            "segmentId": http.get("/v3/contacts", params={"segmentId": 3}),
        }
    for what, answer in refused.items():
        assert error(answer) == (400, "invalid_parameter"), (what, answer.text)
    assert "filter" in refused["contains(F_NAME,Ja)"].json()["message"]
    assert "NOPE" in refused["no attribute"].json()["message"]
    assert refused["segmentId"].json()["message"].startswith("segmentId")


def test_brevo_routes_journeyman_lacks_answer_501_naming_them(client: httpx.Client) -> None:
    """Fixed paths are not taken for a contact named "segments", and a route under /v3 that
    does not exist here is a 501, not "Contact does not exist" or a 404."""
    answers = {
        "GET /v3/contacts/segments": client.get("/v3/contacts/segments"),
        "DELETE /v3/contacts/segments": client.delete("/v3/contacts/segments"),
        "POST /v3/contacts/export": client.post("/v3/contacts/export", json={}),
        "PUT /v3/contacts/folders": client.put("/v3/contacts/folders", json={}),
        "DELETE /v3/contacts/lists": client.delete("/v3/contacts/lists"),
        "GET /v3/contacts/segments/4/contacts": client.get("/v3/contacts/segments/4/contacts"),
        "GET /v3/smtp/templates": client.get("/v3/smtp/templates"),
        "POST /v3/emailCampaigns": client.post("/v3/emailCampaigns", json={}),
    }
    for route, answer in answers.items():
        assert error(answer) == (501, "not_implemented"), (route, answer.text)
        assert answer.json()["message"].startswith(route), answer.text
    # A missing object of a route that exists is still a 404, a wrong method a 405.
    assert error(client.get("/v3/contacts/nobody-501@example.com")) == (404, "document_not_found")
    assert error(client.get("/v3/contacts/lists/987654")) == (404, "document_not_found")
    assert error(client.delete("/v3/contacts")) == (405, "method_not_allowed")
