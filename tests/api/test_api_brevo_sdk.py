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
