"""build_mime: the MIME structure, header encoding and the text derived from HTML."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

import pytest

from journeyman.channels.mime import build_mime, envelope_address, html_to_text
from journeyman.model.messages import OutgoingEmail


def outgoing(**overrides: Any) -> OutgoingEmail:
    fields: dict[str, Any] = {
        "message_id": "run-1.step-2@journeyman.test",
        "sender": "news@example.com",
        "recipient": "ada@example.org",
        "subject": "Hello",
        "html": "<p>Hello <b>Ada</b></p>",
        "text": "Hello Ada",
    }
    return OutgoingEmail(**(fields | overrides))


def reparsed(message: EmailMessage) -> EmailMessage:
    """The message as a receiver sees it after it crossed the wire."""
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(message: EmailMessage) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_content().replace("\r\n", "\n")
        for part in message.iter_parts()
        if isinstance(part, EmailMessage)
    }


def test_html_and_text_become_a_multipart_alternative_with_text_first() -> None:
    message = reparsed(build_mime(outgoing()))

    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert parts(message) == {"text/plain": "Hello Ada\n", "text/html": "<p>Hello <b>Ada</b></p>\n"}
    assert message["From"] == "news@example.com"
    assert message["To"] == "ada@example.org"
    assert message["Subject"] == "Hello"


def test_without_text_the_plain_part_is_derived_from_the_html() -> None:
    html = (
        "<html><head><title>Offer</title><style>p { color: red }</style></head><body>"
        "<h1>Spring&nbsp;sale &amp; more</h1><script>track()</script>"
        "<p>Up to   30%\n off.<br>Ends <i>Sunday</i>.</p>"
        '<p><a href="https://shop.test/sale">See the sale</a> or '
        '<a href="https://shop.test/">https://shop.test/</a></p></body></html>'
    )

    text = parts(reparsed(build_mime(outgoing(html=html, text=None))))["text/plain"]

    assert text == (
        "Spring sale & more\n\n"
        "Up to 30% off.\nEnds Sunday.\n\n"
        "See the sale (https://shop.test/sale) or https://shop.test/\n"
    )


def test_html_to_text_of_plain_words_is_the_words() -> None:
    assert html_to_text("just words") == "just words\n"


def test_non_ascii_subject_and_names_are_encoded_and_survive_the_round_trip() -> None:
    message = build_mime(
        outgoing(
            sender='"Grüße, Jürgen" <juergen@example.com>',
            recipient="Zoë Ångström <zoe@example.org>",
            subject="Grüße, Jürgen",
            text="Schöne Grüße",
        )
    )
    header_block = message.as_bytes().split(b"\r\n\r\n", 1)[0]

    assert header_block.isascii()
    assert b"=?utf-8?" in header_block
    received = reparsed(message)
    assert received["Subject"] == "Grüße, Jürgen"
    assert received["From"].addresses[0].display_name == "Grüße, Jürgen"
    assert received["From"].addresses[0].addr_spec == "juergen@example.com"
    assert received["To"].addresses[0].display_name == "Zoë Ångström"
    assert parts(received)["text/plain"] == "Schöne Grüße\n"


def test_custom_headers_are_added() -> None:
    headers = {
        "List-Unsubscribe": "<https://example.com/u/1>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "X-Journeyman-Run": "42",
    }

    received = reparsed(build_mime(outgoing(headers=headers)))

    for name, value in headers.items():
        assert received[name] == value


@pytest.mark.parametrize("name", ["Subject", "date", "Message-ID", "Content-Type"])
def test_a_custom_header_may_not_replace_one_journeyman_sets(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        build_mime(outgoing(headers={name: "x"}))


def test_a_custom_header_may_not_inject_lines() -> None:
    with pytest.raises(ValueError):
        build_mime(outgoing(headers={"X-Tag": "a\r\nBcc: victim@example.com"}))


@pytest.mark.parametrize(
    ("given", "header"),
    [("abc@journeyman.test", "<abc@journeyman.test>"), ("<abc@x.test>", "<abc@x.test>")],
)
def test_message_id_is_the_given_one_in_angle_brackets(given: str, header: str) -> None:
    received = reparsed(build_mime(outgoing(message_id=given)))

    assert received["Message-ID"] == header


def test_date_is_left_to_the_transport() -> None:
    assert build_mime(outgoing())["Date"] is None


def test_an_empty_message_id_is_refused() -> None:
    with pytest.raises(ValueError, match="message_id"):
        build_mime(outgoing(message_id="<>"))


@pytest.mark.parametrize("field", ["sender", "recipient"])
@pytest.mark.parametrize("value", ["a@example.com, b@example.com", "nobody", ""])
def test_sender_and_recipient_must_be_one_address(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        build_mime(outgoing(**{field: value}))


def test_envelope_address_is_the_bare_address() -> None:
    value = '"Grüße, Jürgen" <juergen@example.com>'

    assert envelope_address(value, field="sender") == "juergen@example.com"
