"""Sandboxed templates: no escape from the sandbox, autoescape in HTML, stable unique codes."""

from __future__ import annotations

from typing import Any

import pytest

from journeyman import templating
from journeyman.templating import MessageTemplate, TemplateError, code_maker, render

CONTEXT: dict[str, Any] = {
    "contact": {"FIRSTNAME": "Jane", "EMAIL": "jane@example.com"},
    "event": {"properties": {"amount": 49.9, "items": ["a", "b"]}},
}

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ contact.__class__.__init__.__globals__ }}",
    "{{ unique_code.__globals__ }}",
    "{{ event.properties.items.append(1) }}",
    "{% set d = {} %}{{ d.update(a=1) }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_the_sandbox_refuses_access_to_internals(source: str) -> None:
    context = {**CONTEXT, "unique_code": code_maker(b"k", "seed")}

    with pytest.raises(TemplateError):
        render(source, context, html=True)


@pytest.mark.parametrize("source", ESCAPES)
def test_nothing_of_the_internals_is_ever_rendered(source: str) -> None:
    context = {**CONTEXT, "unique_code": code_maker(b"k", "seed")}

    try:
        output = render(source, context, html=False)
    except TemplateError:
        return
    assert "class" not in output and "function" not in output and "module" not in output


def test_html_is_escaped_and_text_is_not() -> None:
    context = {"contact": {"FIRSTNAME": '<b>Tom</b> & "Jerry"'}}
    source = "Hi {{ contact.FIRSTNAME }}"

    assert render(source, context, html=True) == "Hi &lt;b&gt;Tom&lt;/b&gt; &amp; &#34;Jerry&#34;"
    assert render(source, context, html=False) == 'Hi <b>Tom</b> & "Jerry"'


def test_a_message_template_escapes_only_the_html_part() -> None:
    template = MessageTemplate(
        "Hi {{ contact.FIRSTNAME }}",
        "<p>Hi {{ contact.FIRSTNAME }}</p>",
        "Hi {{ contact.FIRSTNAME }}",
        "{{ contact.FIRSTNAME }} <shop@example.com>",
    )

    subject, html, text, sender = template.render({"contact": {"FIRSTNAME": "Tom & <Jerry>"}})

    assert subject == "Hi Tom & <Jerry>"
    assert html == "<p>Hi Tom &amp; &lt;Jerry&gt;</p>"
    assert text == "Hi Tom & <Jerry>"
    assert sender == "Tom & <Jerry> <shop@example.com>"


def test_a_message_template_without_text_renders_none() -> None:
    template = MessageTemplate("S", "<p>H</p>", None, "a@example.com")

    assert template.render({}) == ("S", "<p>H</p>", None, "a@example.com")


def test_contact_data_cannot_break_a_message_apart() -> None:
    value = "A\x1eB"  # the separator MessageTemplate joins the parts with
    template = MessageTemplate("Hi {{ name }}", "<p>{{ name }}</p>", "{{ name }}", "x@example.com")

    # The control character is dropped from values; the parts stay apart.
    assert template.render({"name": value}) == ("Hi AB", "<p>AB</p>", "AB", "x@example.com")


def test_missing_values_render_empty_and_defaults_apply() -> None:
    source = (
        "Hi {{ contact.NICKNAME }}{{ contact.a.b.c }}, {{ contact.X | default('friend', true) }}"
    )

    assert render(source, CONTEXT, html=False) == "Hi , friend"


def test_event_properties_are_available() -> None:
    assert render("{{ event.properties.amount }} EUR", CONTEXT, html=True) == "49.9 EUR"


def test_syntax_errors_name_the_line() -> None:
    assert templating.check_template("ok\n{% if %}", html=True) == (
        "line 2: Expected an expression, got 'end of statement block'"
    )
    assert templating.check_template("{{ contact.FIRSTNAME }}", html=False) is None
    with pytest.raises(TemplateError, match="line 1"):
        render("{{ x ", {}, html=False)


def test_a_failing_filter_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="ZeroDivisionError"):
        render("{{ 1 // 0 }}", {}, html=False)


def test_unique_code_is_deterministic_per_seed_and_secret() -> None:
    first = code_maker(b"secret", "41:send_coupon:1")

    assert first("THANKS-") == code_maker(b"secret", "41:send_coupon:1")("THANKS-")
    assert first("THANKS-") == first("THANKS-")
    assert first("THANKS-") != code_maker(b"secret", "42:send_coupon:1")("THANKS-")
    assert first("THANKS-") != code_maker(b"other secret", "41:send_coupon:1")("THANKS-")


def test_unique_codes_differ_across_many_seeds() -> None:
    codes = {code_maker(b"secret", f"{run}:send_coupon:1")() for run in range(2000)}

    assert len(codes) == 2000


@pytest.mark.parametrize(("length", "size"), [(8, 8), (1, 4), (12, 12), (100, 32), ("6", 6)])
def test_unique_code_prefix_and_length(length: Any, size: int) -> None:
    code = code_maker(b"secret", "seed")("C-", length)

    assert code.startswith("C-")
    assert len(code) == 2 + size
    assert code[2:].isalnum() and code[2:].upper() == code[2:]


def test_unique_code_in_a_template_is_the_same_in_every_part() -> None:
    template = MessageTemplate(
        "{{ unique_code('X-') }}", "{{ unique_code('X-') }}", "{{ unique_code('X-') }}", "a@b.c"
    )

    subject, html, text, _ = template.render({"unique_code": code_maker(b"k", "1:s:1")})

    assert subject == html == text == code_maker(b"k", "1:s:1")("X-")
