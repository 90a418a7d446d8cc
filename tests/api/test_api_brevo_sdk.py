"""Brevo's official Python SDK (``brevo-python``, the current client) pointed at the running
server: it creates a contact, updates its attributes, adds it to a list and sends an event,
and the workflow the event starts puts its email in the outbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from brevo import Brevo
from brevo.contacts import AddContactToListRequestBodyEmails
from brevo.core.api_error import ApiError
from brevo.event import CreateEventRequestIdentifiers

from .api_support import Reader, Server, cli, wait_for

THANKS = """\
key: sdk-thanks
name: Thanks for the order
entry_points:
  - event: sdk_order
steps:
  - id: in_list
    if: {in_list: SDK buyers}
    then: thank
    else: end
  - id: thank
    send_email:
      from: "Shop <shop@example.com>"
      subject: "Thanks {{ contact.FIRSTNAME }} ({{ contact.SDK_SCORE }})"
      html: "<p>Order {{ event.properties.order }}</p>"
"""


@contextmanager
def sdk(server: Server, key: str) -> Iterator[Brevo]:
    """The SDK's client at ``server`` (on an httpx client of ours, closed afterwards)."""
    with httpx.Client(timeout=30) as http:
        yield Brevo(api_key=key, base_url=f"{server.url}/v3", httpx_client=http)


def test_the_brevo_sdk_drives_a_workflow(
    api_server: Server, tmp_path: Path, reader: Reader
) -> None:
    with sdk(api_server, api_server.key) as brevo:
        sent_email = drive(brevo, api_server, tmp_path)
    rows = wait_for(
        lambda: (
            reader.rows(
                "SELECT subject, html FROM messages WHERE recipient = :e AND status = 'sent'",
                e=sent_email,
            )
            or None
        ),
        what="the thank-you email",
    )
    assert rows == [("Thanks Sam (7)", "<p>Order A-17</p>")]


def drive(brevo: Brevo, api_server: Server, tmp_path: Path) -> str:
    email = "sdk@example.com"
    buyers = brevo.contacts.create_list(name="SDK buyers", folder_id=1)
    document = tmp_path / "thanks.yaml"
    document.write_text(THANKS)
    cli(tmp_path, api_server.db_url, "workflow", "apply", str(document))

    brevo.contacts.create_attribute("normal", "SDK_SCORE", type="float")
    created = brevo.contacts.create_contact(email=email, attributes={"FIRSTNAME": "Sam"})
    brevo.contacts.update_contact(email, attributes={"SDK_SCORE": 7})
    added = brevo.contacts.add_contact_to_list(
        buyers.id, request=AddContactToListRequestBodyEmails(emails=[email])
    )
    brevo.event.create_event(
        event_name="sdk_order",
        identifiers=CreateEventRequestIdentifiers(email_id=email),
        event_properties={"order": "A-17"},
    )

    info = brevo.contacts.get_contact_info(email)
    assert created is not None and info.id == created.id
    assert info.attributes.model_dump() == {"FIRSTNAME": "Sam", "SDK_SCORE": 7}
    assert info.list_ids == [buyers.id]
    assert added.contacts.success == [email]
    return email


def test_the_brevo_sdk_sees_brevo_errors(api_server: Server) -> None:
    with sdk(api_server, api_server.key) as brevo, sdk(api_server, "jm-nobody") as stranger:
        expect_errors(brevo, stranger)


def expect_errors(brevo: Brevo, stranger: Brevo) -> None:
    brevo.contacts.create_contact(email="sdk-twice@example.com")
    calls: list[tuple[Callable[[], object], int, str]] = [
        (
            lambda: brevo.contacts.create_contact(email="sdk-twice@example.com"),
            400,
            "duplicate_parameter",
        ),
        (
            lambda: brevo.contacts.get_contact_info("sdk-nobody@example.com"),
            404,
            "document_not_found",
        ),
        (stranger.contacts.get_contacts, 401, "unauthorized"),
    ]
    for call, status, code in calls:
        try:
            call()
        except ApiError as exc:
            assert exc.status_code == status
            assert isinstance(exc.body, dict) and exc.body["code"] == code
        else:
            raise AssertionError(f"expected {status} {code}")


BACKFILL = """\
key: sdk-backfill
name: Tag the buyers
entry_points:
  - event: sdk_backfill
steps:
  - id: tag
    add_to_list: {lists: SDK backfilled}
"""


def test_the_brevo_sdk_reads_folders_filters_category_attributes_and_sends_history(
    api_server: Server, tmp_path: Path, reader: Reader
) -> None:
    """Issue 20: the routes that gave a wrong answer, through the current SDK."""
    document = tmp_path / "backfill.yaml"
    document.write_text(BACKFILL)
    cli(tmp_path, api_server.db_url, "workflow", "apply", str(document))
    historical = {"X-Journeyman-Historical": "true"}
    with (
        sdk(api_server, api_server.key) as brevo,
        httpx.Client(timeout=30) as http,
    ):
        backfill = Brevo(
            api_key=api_server.key,
            base_url=f"{api_server.url}/v3",
            httpx_client=http,
            headers=historical,
        )
        brevo.contacts.create_attribute(
            "category", "SDK_TIER", enumeration=[{"value": 1, "label": "bronze"}]
        )
        tiers = [a for a in brevo.contacts.get_attributes().attributes if a.name == "SDK_TIER"]
        assert [(t.category, [e.label for e in t.enumeration or []]) for t in tiers] == [
            ("category", ["bronze"])
        ]

        folder = brevo.contacts.create_folder(name="SDK folder").id
        brevo.contacts.create_list(name="SDK foldered", folder_id=folder)
        assert brevo.contacts.get_folder(folder).name == "SDK folder"
        assert [f.id for f in brevo.contacts.get_folders(limit=50).folders or []].count(folder) == 1
        in_folder = brevo.contacts.get_folder_lists(folder).lists or []
        assert [x.name for x in in_folder] == ["SDK foldered"]

        brevo.contacts.create_contact(email="sdk-tier@example.com", attributes={"SDK_TIER": 1})
        found = brevo.contacts.get_contacts(filter='equals(SDK_TIER,"bronze")').contacts or []
        assert [c.email for c in found] == ["sdk-tier@example.com"]
        try:
            brevo.contacts.get_contacts(segment_id=5)
        except ApiError as exc:
            assert exc.status_code == 400 and isinstance(exc.body, dict)
            assert exc.body["code"] == "invalid_parameter"
        else:
            raise AssertionError("segmentId was ignored")

        by_header, by_body, live = (f"sdk-{w}@example.com" for w in ("header", "body", "live"))
        backfill.event.create_event(
            event_name="sdk_backfill", identifiers=CreateEventRequestIdentifiers(email_id=by_header)
        )
        brevo.event.create_event(
            event_name="sdk_backfill",
            identifiers=CreateEventRequestIdentifiers(email_id=by_body),
            request_options={"additional_body_parameters": {"historical": True}},
        )
        brevo.event.create_event(
            event_name="sdk_backfill", identifiers=CreateEventRequestIdentifiers(email_id=live)
        )

    def tagged() -> list[tuple[str, ...]] | None:
        rows = reader.rows(
            "SELECT c.email FROM list_members m JOIN contacts c ON c.id = m.contact_id "
            "JOIN lists l ON l.id = m.list_id WHERE l.name = 'SDK backfilled' ORDER BY c.email"
        )
        return rows or None

    assert wait_for(tagged, what="the live event's run") == [(live,)]
    recorded = reader.rows(
        "SELECT c.email, e.historical FROM events e JOIN contacts c ON c.id = e.contact_id "
        "WHERE e.name = 'sdk_backfill' ORDER BY c.email"
    )
    assert [(e, bool(h)) for e, h in recorded] == [
        (by_body, True),
        (by_header, True),
        (live, False),
    ]
    runs = reader.value(
        "SELECT count(*) FROM runs r JOIN contacts c ON c.id = r.contact_id "
        "WHERE c.email IN (:a, :b)",
        a=by_header,
        b=by_body,
    )
    assert runs == 0
