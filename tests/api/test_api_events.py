"""``/v3/events`` and the legacy tracker over HTTP: recording, batches with refused events
reported by index, reading events back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from journeyman.api import limits

from .api_support import Reader, Server, cli, wait_for


def error(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["code"]


def events_of(http: httpx.Client, contact_id: int, **params: Any) -> list[dict[str, Any]]:
    answer = http.get("/v3/events", params={"contact_id": contact_id, **params})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["events"]
    return found


def contact(http: httpx.Client, email: str) -> dict[str, Any]:
    answer = http.get(f"/v3/contacts/{email}")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_an_event_creates_its_contact_and_sets_contact_properties(client: httpx.Client) -> None:
    answer = client.post(
        "/v3/events",
        json={
            "event_name": "video_played",
            "event_date": "2027-01-04T10:00:00+01:00",
            "identifiers": {"email_id": "Viewer@Example.com"},
            "contact_properties": {"FIRSTNAME": "Vi"},
            "event_properties": {"title": "Intro", "duration": 142, "tags": ["a"]},
        },
    )

    assert answer.status_code == 204, answer.text
    viewer = contact(client, "viewer@example.com")
    assert viewer["attributes"] == {"FIRSTNAME": "Vi"}
    assert events_of(client, viewer["id"]) == [
        {
            "contact_id": viewer["id"],
            "event_name": "video_played",
            "event_date": "2027-01-04T09:00:00.000Z",
            "event_properties": {"title": "Intro", "duration": 142, "tags": ["a"]},
        }
    ]


def test_an_event_names_its_contact_by_id_or_ext_id(client: httpx.Client) -> None:
    created = client.post("/v3/contacts", json={"email": "ids@example.com", "ext_id": "crm-ids"})
    contact_id = created.json()["id"]

    by_id = client.post(
        "/v3/events", json={"event_name": "a", "identifiers": {"contact_id": contact_id}}
    )
    by_ext_id = client.post(
        "/v3/events", json={"event_name": "b", "identifiers": {"ext_id": "crm-ids"}}
    )

    assert (by_id.status_code, by_ext_id.status_code) == (204, 204)
    assert sorted(e["event_name"] for e in events_of(client, contact_id)) == ["a", "b"]


def test_a_refused_event_changes_nothing(client: httpx.Client) -> None:
    cases = [
        ({"identifiers": {"email_id": "r@example.com"}}, (400, "missing_parameter")),
        ({"event_name": "x", "identifiers": {}}, (400, "missing_parameter")),
        (
            {"event_name": "bad name!", "identifiers": {"email_id": "r@example.com"}},
            (400, "invalid_parameter"),
        ),
        (
            {"event_name": "x", "identifiers": {"email_id": "not-an-email"}},
            (400, "invalid_parameter"),
        ),
        ({"event_name": "x", "identifiers": {"contact_id": 987654}}, (404, "document_not_found")),
        (
            {"event_name": "x", "identifiers": {"email_id": "r@example.com"}, "event_date": "soon"},
            (400, "invalid_parameter"),
        ),
        (
            {
                "event_name": "x",
                "identifiers": {"email_id": "r@example.com"},
                "contact_properties": {"NOPE": 1},
            },
            (400, "invalid_parameter"),
        ),
    ]
    for body, expected in cases:
        assert error(client.post("/v3/events", json=body)) == expected, body

    assert client.get("/v3/contacts/r@example.com").status_code == 404


def test_a_batch_keeps_the_good_events_and_reports_the_bad_ones(client: httpx.Client) -> None:
    good = {"event_name": "batch_ok", "identifiers": {"email_id": "batch@example.com"}}

    accepted = client.post("/v3/events/batch", json={"events": [good, good]})
    partial = client.post(
        "/v3/events/batch",
        json={
            "events": [
                good,
                {"identifiers": {"email_id": "batch@example.com"}},
                {"event_name": "no spaces", "identifiers": {"email_id": "batch@example.com"}},
                {**good, "event_properties": {"n": 3}},
            ]
        },
    )

    assert accepted.status_code == 202
    assert accepted.json()["count"] == 2
    assert partial.status_code == 207
    result = partial.json()
    assert {
        k: result[k] for k in ("status", "total_events", "successful_events", "failed_events")
    } == {
        "status": "partial_success",
        "total_events": 4,
        "successful_events": 2,
        "failed_events": 2,
    }
    assert [e["eventIndex"] for e in result["errors"]] == [[1], [2]]
    assert "event_name" in result["errors"][0]["message"]
    batch_id = contact(client, "batch@example.com")["id"]
    assert len(events_of(client, batch_id)) == 4


def test_a_batch_of_only_bad_events_fails_whole(client: httpx.Client) -> None:
    answer = client.post("/v3/events/batch", json={"events": [{"event_name": "x"}]})

    assert answer.status_code == 207
    assert answer.json()["status"] == "failed"
    assert error(client.post("/v3/events/batch", json={"events": []})) == (400, "missing_parameter")


def test_events_are_read_back_filtered_and_latest_first(client: httpx.Client) -> None:
    email = "reader@example.com"
    for day, name in ((3, "open"), (1, "open"), (2, "click")):
        event = {
            "event_name": name,
            "event_date": f"2027-02-0{day}T12:00:00Z",
            "identifiers": {"email_id": email},
        }
        assert client.post("/v3/events", json=event).status_code == 204
    contact_id = contact(client, email)["id"]

    every = events_of(client, contact_id)
    opens = events_of(client, contact_id, event_name="open")
    window = events_of(client, contact_id, startDate="2027-02-02", endDate="2027-02-02")
    paged = client.get("/v3/events", params={"contact_id": contact_id, "limit": 1, "offset": 1})

    assert [e["event_date"][:10] for e in every] == ["2027-02-03", "2027-02-02", "2027-02-01"]
    assert len(opens) == 2
    assert [e["event_name"] for e in window] == ["click"]
    assert paged.json()["count"] == 3
    assert [e["event_name"] for e in paged.json()["events"]] == ["click"]


def test_the_legacy_tracker_identifies_and_tracks(client: httpx.Client, api_server: Any) -> None:
    tracker = {"ma-key": api_server.tracker_key}

    identified = client.post(
        "/api/v2/identify",
        json={"email": "legacy@example.com", "attributes": {"FIRSTNAME": "Leg"}},
        headers=tracker,
    )
    tracked = client.post(
        "/api/v2/trackEvent",
        json={
            "email": "legacy@example.com",
            "event": "cart_updated",
            "properties": {"LASTNAME": "Acy"},
            "eventdata": {"id": "cart:1", "data": {"total": 50}},
        },
        headers=tracker,
    )
    refused = client.post(
        "/api/v2/trackEvent", json={"email": "legacy@example.com", "event": "a b"}, headers=tracker
    )

    assert (identified.status_code, tracked.status_code) == (204, 204)
    legacy = contact(client, "legacy@example.com")
    assert legacy["attributes"] == {"FIRSTNAME": "Leg", "LASTNAME": "Acy"}
    [event] = events_of(client, legacy["id"])
    assert (event["event_name"], event["event_properties"]) == (
        "cart_updated",
        {"total": 50, "id": "cart:1"},
    )
    assert error(refused) == (400, "invalid_parameter")


def test_values_the_database_cannot_hold_are_refused_naming_the_field(
    backend_server: Server,
) -> None:
    """Each was a 500 (a driver, JSON or date overflow) before: schemathesis found the ids,
    the NUL character and the tracker's empty array, probes of the same edges the rest."""
    email = "holds-events@example.com"
    named = {"email_id": email}
    with backend_server.client() as http:
        answers = {
            "event_properties.big": http.post(
                "/v3/events",
                json={"event_name": "x", "identifiers": named, "event_properties": {"big": 2**64}},
            ),
            "event_date": http.post(
                "/v3/events",
                json={
                    "event_name": "x",
                    "identifiers": named,
                    "event_date": "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
                },
            ),
            "contact_id": http.get("/v3/events", params={"contact_id": 2**63}),
            "event_name": http.get("/v3/events", params={"event_name": "nul\u0000"}),
        }
        last_day = http.get("/v3/events", params={"endDate": "9999-12-31"})
        tracked = http.post(
            "/api/v2/trackEvent",
            json={"email": "not-an-email", "event": "x"},
            headers={"ma-key": backend_server.tracker_key},
        )
        created = http.get(f"/v3/contacts/{email}")

    for field, answer in answers.items():
        assert error(answer) == (400, "invalid_parameter"), answer.text
        assert answer.json()["message"].startswith(field), answer.text
    assert last_day.status_code == 200, last_day.text
    assert error(tracked) == (400, "invalid_parameter")  # PostgreSQL: an empty array failed
    assert created.status_code == 404


def test_a_batch_refuses_by_index_what_the_database_cannot_hold(backend_server: Server) -> None:
    """Two events giving one SMS to two contacts failed the whole batch (a 500; found
    probing beside schemathesis); a NUL character in one event refuses that event only."""

    def event(email: str, **properties: Any) -> dict[str, Any]:
        return {
            "event_name": "holds",
            "identifiers": {"email_id": email},
            "contact_properties": properties,
        }

    with backend_server.client() as http:
        answer = http.post(
            "/v3/events/batch",
            json={
                "events": [
                    event("pair1@example.com", SMS="+4915100000009"),
                    event("pair2@example.com", SMS="+4915100000009"),
                    event("pair3@example.com", FIRSTNAME="nul\u0000"),
                ]
            },
        )
        kept = http.get("/v3/contacts/pair1@example.com")
        others = [http.get(f"/v3/contacts/pair{i}@example.com").status_code for i in (2, 3)]

    assert answer.status_code == 207, answer.text
    errors = answer.json()["errors"]
    assert [e["eventIndex"] for e in errors] == [[1], [2]]
    assert "two contacts" in errors[0]["message"]
    assert "NUL" in errors[1]["message"]
    assert kept.json()["attributes"]["SMS"] == "+4915100000009"
    assert others == [404, 404]


def test_a_batch_refuses_by_index_what_orjson_would_misread(client: httpx.Client) -> None:
    """Bodies are parsed by orjson, except those it refuses or misreads (NaN, integers past
    64 bits, unpaired surrogates), which are read as before: refused naming the field."""
    event = '{"event_name": "x", "identifiers": {"email_id": "misread@example.com"}, '
    body = (
        f'{{"events": [{event}"event_properties": {{"n": NaN}}}}, '
        f'{event}"event_properties": {{"n": {2**70}}}}}, '
        f'{event}"event_properties": {{"n": "\\ud800"}}}}]}}'
    )
    answer = client.post(
        "/v3/events/batch", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 207, answer.text
    assert [(e["eventIndex"], e["message"]) for e in answer.json()["errors"]] == [
        ([0], "event_properties.n: numbers must be finite"),
        ([1], f"event_properties.n: {2**70} is outside the 64-bit integer range"),
        ([2], f"event_properties.n: {limits.TEXT_RULE}"),
    ]


FIRST_PURCHASE = """\
key: api-first-purchase
name: First purchase or not
entry_points:
  - event: api_purchase
steps:
  - id: first
    if: {event_count: {event: api_purchase, equals: 1}}
    then: welcome
    else: again
  - id: welcome
    add_to_list: {lists: API first buyers}
    next: end
  - id: again
    add_to_list: {lists: API repeat buyers}
"""


def test_historical_events_count_as_history_and_start_nothing(
    backend_server: Server, tmp_path: Path
) -> None:
    """Journeyman's extension: ``historical`` in an event (or the X-Journeyman-Historical
    header for every event of a request) records the purchase that a later one sees as
    not the first, and starts no run (issue 20)."""
    document = tmp_path / "first.yaml"
    document.write_text(FIRST_PURCHASE)
    cli(tmp_path, backend_server.db_url, "workflow", "apply", str(document))
    old, batch, new = "old-buyer@example.com", "batch-buyer@example.com", "new-buyer@example.com"
    purchase = {"event_name": "api_purchase", "event_date": "2025-03-01T10:00:00Z"}
    with backend_server.client() as http:
        by_field = http.post(
            "/v3/events", json={**purchase, "identifiers": {"email_id": old}, "historical": True}
        )
        by_header = http.post(
            "/v3/events/batch",
            json={"events": [{**purchase, "identifiers": {"email_id": batch}}]},
            headers={"X-Journeyman-Historical": "true"},
        )
        typo = http.post(
            "/v3/events",
            json={**purchase, "identifiers": {"email_id": old}},
            headers={"X-Journeyman-Historical": "yes please"},
        )
        assert (by_field.status_code, by_header.status_code) == (204, 202), by_header.text
        assert error(typo) == (400, "invalid_parameter")
        assert "X-Journeyman-Historical" in typo.json()["message"]
        for email in (old, batch, new):
            live = http.post(
                "/v3/events",
                json={"event_name": "api_purchase", "identifiers": {"email_id": email}},
            )
            assert live.status_code == 204, live.text

        def members(name: str) -> set[str]:
            found = [x for x in http.get("/v3/contacts/lists").json()["lists"] if x["name"] == name]
            if not found:
                return set()
            page = http.get(f"/v3/contacts/lists/{found[0]['id']}/contacts").json()
            return {c["email"] for c in page["contacts"]}

        wait_for(
            lambda: len(members("API first buyers") | members("API repeat buyers")) == 3 or None,
            what="the three runs",
        )
        assert members("API first buyers") == {new}
        assert members("API repeat buyers") == {old, batch}
    reader = Reader(backend_server.db_url)
    try:
        runs = reader.value(
            "SELECT count(*) FROM runs r JOIN contacts c ON c.id = r.contact_id "
            "WHERE c.email IN (:a, :b, :c)",
            a=old,
            b=batch,
            c=new,
        )
    finally:
        reader.close()
    assert runs == 3  # one per live purchase; the historical ones started none
