"""The older generation of Brevo's Python SDK (``sib-api-v3-sdk``, Sendinblue's generated
``ContactsApi`` client, still in many shops' code) pointed at the running server: it defines
an attribute, creates a list and a contact, updates the contact and adds it to the list, and
the workflow that listens to the list puts its email in the outbox. That generation has no
events API (events went through the tracker, tested in test_api_events.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sib_api_v3_sdk as sib
from sib_api_v3_sdk.rest import ApiException

from .api_support import Reader, Server, cli, wait_for

WELCOME = """\
key: sib-welcome
name: Welcome to the club
entry_points:
  - list_added: SIB club
steps:
  - id: welcome
    send_email:
      from: "Club <club@example.com>"
      subject: "Welcome {{ contact.FIRSTNAME }} (level {{ contact.SIB_LEVEL }})"
      html: "<p>Hello</p>"
"""


def contacts_api(server: Server, key: str) -> sib.ContactsApi:
    configuration = sib.Configuration()
    configuration.host = f"{server.url}/v3"
    configuration.api_key["api-key"] = key
    return sib.ContactsApi(sib.ApiClient(configuration))


def test_the_contacts_api_generation_drives_a_workflow(
    api_server: Server, tmp_path: Path, reader: Reader
) -> None:
    document = tmp_path / "welcome.yaml"
    document.write_text(WELCOME)
    cli(tmp_path, api_server.db_url, "workflow", "apply", str(document))
    api = contacts_api(api_server, api_server.key)
    email = "sib@example.com"

    api.create_attribute("normal", "SIB_LEVEL", sib.CreateAttribute(type="float"))
    club = api.create_list(sib.CreateList(name="SIB club", folder_id=1))
    created = api.create_contact(sib.CreateContact(email=email, attributes={"FIRSTNAME": "Ada"}))
    api.update_contact(email, sib.UpdateContact(attributes={"SIB_LEVEL": 3}))
    added = api.add_contact_to_list(club.id, sib.AddContactToList(emails=[email]))

    info = api.get_contact_info(email)
    assert info.id == created.id
    assert info.attributes == {"FIRSTNAME": "Ada", "SIB_LEVEL": 3}
    assert info.list_ids == [club.id]
    assert added.contacts.success == [email]
    members = api.get_contacts_from_list(club.id).contacts  # plain dicts in this SDK
    assert [member["email"] for member in members] == [email]
    rows = wait_for(
        lambda: (
            reader.rows(
                "SELECT subject FROM messages WHERE recipient = :e AND status = 'sent'", e=email
            )
            or None
        ),
        what="the welcome email",
    )
    assert rows == [("Welcome Ada (level 3)",)]


def test_the_contacts_api_generation_sees_brevo_errors(api_server: Server) -> None:
    api = contacts_api(api_server, api_server.key)
    with pytest.raises(ApiException) as missing:
        api.get_contact_info("sib-nobody@example.com")
    assert missing.value.status == 404
    assert '"document_not_found"' in missing.value.body
    with pytest.raises(ApiException) as refused:
        contacts_api(api_server, "jm-nobody").get_contacts()
    assert refused.value.status == 401
    assert '"unauthorized"' in refused.value.body


def test_the_contacts_api_generation_reads_category_attributes_and_folders(
    api_server: Server,
) -> None:
    """Issue 20: a category attribute answered with ``type: category`` made this SDK raise
    on the client (its types are text, date, float, id and boolean); folders were taken for
    a contact named "folders"."""
    api = contacts_api(api_server, api_server.key)
    api.create_attribute(
        "category",
        "SIB_TIER",
        sib.CreateAttribute(enumeration=[sib.CreateAttributeEnumeration(value=1, label="gold")]),
    )

    tiers = [a for a in api.get_attributes().attributes if a.name == "SIB_TIER"]
    folder = api.create_folder(sib.CreateUpdateFolder(name="SIB folder")).id
    listed = api.create_list(sib.CreateList(name="SIB foldered", folder_id=folder))

    assert [(t.category, [(e.value, e.label) for e in t.enumeration]) for t in tiers] == [
        ("category", [(1, "gold")])
    ]
    assert api.get_folder(folder).name == "SIB folder"
    assert folder in [f["id"] for f in api.get_folders(50, 0).folders]
    lists = api.get_folder_lists(folder).lists
    assert [x["id"] for x in lists] == [listed.id]
    with pytest.raises(ApiException) as unknown:
        api.create_list(sib.CreateList(name="SIB nowhere", folder_id=987654))
    assert unknown.value.status == 400
