"""Tracking in rendered emails: links rewritten with the HTML parser (order, schemes,
entities, quotes, no double rewriting), the pixel and the unsubscribe footer, signed tokens,
and what send_email does with and without a public URL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html as html_module
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from journeyman import links, tracking
from journeyman.clock import UTC
from journeyman.conditions import Facts
from journeyman.model.contacts import ContactView
from journeyman.model.effects import QueueEmail
from journeyman.model.runs import RunView
from journeyman.steps.base import StepEnv, StepItem
from journeyman.steps.messages import SendEmail, SendEmailParams

EMAILS = Path(__file__).parent.parent / "emails"
SECRET = b"tracking secret"
PUBLIC = "https://mail.example.com"
ENV = StepEnv(
    now=dt.datetime(2027, 1, 4, 9, 0, tzinfo=UTC),
    workflow_key="wf",
    step_id="promo",
    list_ids={},
    secret=SECRET,
    public_url=PUBLIC + "/",
)


def numbered(address: str) -> str:
    return f"T:{address}"


def test_links_are_rewritten_in_order_and_other_schemes_are_untouched() -> None:
    source = (
        '<p><a href="https://a.example/1">one</a> <a href="mailto:jo@example.com">mail</a>'
        ' <a href="tel:+331234">call</a> <a href="#top">top</a> <a href="/relative">rel</a>'
        ' <a href="http://b.example/2" class="button" target="_blank">two</a>'
        ' <a name="anchor">no href</a> <a href="javascript:alert(1)">js</a>'
        ' <a href="ftp://files.example/">ftp</a></p>'
    )
    seen: list[str] = []

    def target(address: str) -> str:
        seen.append(address)
        return f"https://t.example/{len(seen)}"

    out = tracking.rewrite_links(source, target)

    assert seen == ["https://a.example/1", "http://b.example/2"]
    assert out == (
        '<p><a href="https://t.example/1">one</a> <a href="mailto:jo@example.com">mail</a>'
        ' <a href="tel:+331234">call</a> <a href="#top">top</a> <a href="/relative">rel</a>'
        ' <a href="https://t.example/2" class="button" target="_blank">two</a>'
        ' <a name="anchor">no href</a> <a href="javascript:alert(1)">js</a>'
        ' <a href="ftp://files.example/">ftp</a></p>'
    )


def test_entities_and_quotes_in_addresses_are_decoded_for_the_target_and_escaped_again() -> None:
    source = (
        "<a href='https://shop.example/p?a=1&amp;b=2&quot;x'>single</a>\n"
        '<A HREF="  HTTPS://Shop.example/Q?q=caf&#233;&lt;  " title="a &amp; b">upper</A>\n'
        "<a href=https://bare.example/x?y=1>bare</a>"
    )
    seen: list[str] = []

    def target(address: str) -> str:
        seen.append(address)
        return address + "&z=\"'"

    out = tracking.rewrite_links(source, target)

    assert seen == [
        'https://shop.example/p?a=1&b=2"x',
        "HTTPS://Shop.example/Q?q=café<",
        "https://bare.example/x?y=1",
    ]
    lines = out.split("\n")
    assert lines[0] == (
        '<a href="https://shop.example/p?a=1&amp;b=2&quot;x&amp;z=&quot;&#x27;">single</a>'
    )
    assert lines[1] == (
        '<A HREF="HTTPS://Shop.example/Q?q=café&lt;&amp;z=&quot;&#x27;" title="a &amp; b">upper</A>'
    )
    assert lines[2] == '<a href="https://bare.example/x?y=1&amp;z=&quot;&#x27;">bare</a>'
    # What a browser reads from the new attribute is exactly what the target returned.
    hrefs = [html_module.unescape(h) for h in re.findall(r'href="([^"]*)"', out, re.I)]
    assert hrefs == [s + "&z=\"'" for s in seen]


def test_comments_scripts_styles_and_other_tags_keep_their_bytes() -> None:
    source = (
        '<html><head><link href="https://cdn.example/s.css" rel=stylesheet>'
        "<style>a[href='https://x.example']{color:red}</style></head><body>\n"
        '<!-- <a href="https://commented.example">old</a> -->\n'
        "<script>var s = '<a href=\"https://js.example\">';</script>\n"
        '<img src="https://img.example/i.png"><area href="https://map.example/"/>'
        '<v:roundrect href="https://vml-outside-a-conditional.example"></v:roundrect>'
        '<a  class=x HREF="https://real.example" title="a & b">real</a></body></html>'
    )

    out = tracking.rewrite_links(source, numbered)

    assert out == source.replace('"https://map.example/"', '"T:https://map.example/"').replace(
        '"https://real.example"', '"T:https://real.example"'
    )


def test_a_none_target_keeps_the_link_and_nothing_is_rewritten_twice() -> None:
    source = '<a href="https://keep.example">k</a><a href="https://go.example">g</a>'

    once = tracking.rewrite_links(
        source, lambda a: None if "keep" in a else f"https://t.example/c/{a}"
    )
    twice = tracking.rewrite_links(
        once, lambda a: None if a.startswith("https://t.example/") or "keep" in a else "X"
    )

    assert (
        once
        == '<a href="https://keep.example">k</a><a href="https://t.example/c/https://go.example">g</a>'
    )
    assert twice == once


class ReferenceLinks(HTMLParser):
    """The standard library parser's view of the same document: the http(s) links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("a", "area"):
            href = next((v for n, v in attrs if n == "href"), None)
            if href is not None and href.strip().lower().startswith(("http://", "https://")):
                self.found.append(href.strip())

    handle_startendtag = handle_starttag


TRICKY = [
    "<a href=\"https://a.example/x\">a</a><a\nhref='https://b.example/y'\n>b</a>",
    '<a title="x > y" href="https://gt.example/">gt in a quoted value</a>',
    "<a title=it's href=https://unquoted.example/>apostrophe in an unquoted value</a>",
    '<a data-x="<a href=\'https://inner.example\'>" href="https://outer.example">o</a>',
    '<a href="https://first.example" href="https://second.example">two hrefs</a>',
    '<p>1 < 2</p><abbr href="https://not-a-link.example">abbr</abbr><a/href="https://s.example">',
    "<!-- <a href='https://commented.example'> --><style>/*<a href='https://css.example'>*/</style>"
    '<SCRIPT>document.write("<a href=\'https://js.example\'>")</SCRIPT><a href="https://after.example">',
    '<a href = "https://spaced.example/?a=1&amp;b=&lt;2&gt;" >spaces around =</a>',
    '<area shape=rect href=https://area.example/ /><a HREF="HTTP://UPPER.EXAMPLE/">u</a>',
    '<a href="https://unterminated.example" <b>',
]


@pytest.mark.parametrize("source", TRICKY)
def test_the_tokenizer_finds_the_links_html_parser_finds(source: str) -> None:
    reference = ReferenceLinks()
    reference.feed(source)
    reference.close()

    assert tracking.links_in(source) == reference.found


# The classic bulletproof button (Campaign Monitor's buttons.cm pattern): a VML shape for
# Outlook inside a conditional comment, a styled link for every other client after it.
VML_BUTTON = (EMAILS / "vml-button.html").read_text(encoding="utf-8")

# The variant with an <a> around the shape (as Stripo writes it: a valueless attribute,
# single quotes), a VML banner, in an MJML-style body (mso | IE table wrappers, head XML).
WRAPPED_BUTTON = (EMAILS / "wrapped-button.html").read_text(encoding="utf-8")


class OutlookLinks(ReferenceLinks):
    """html.parser's links, plus what Outlook renders: the content of conditional comments
    (``[if ...]>`` up to ``<![endif]``) parsed again, where VML shapes link too."""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.inside and tag.startswith("v:"):
            tag = "a"
        super().handle_starttag(tag, attrs)

    handle_startendtag = handle_starttag
    inside = False

    def handle_comment(self, data: str) -> None:
        condition = re.match(r"\[if\s[^\]>]*\]>", data, re.I)
        if condition is None or self.inside:
            return
        inner = OutlookLinks()
        inner.inside = True
        inner.feed(data[condition.end() :].removesuffix("<![endif]"))
        inner.close()
        self.found += inner.found


@pytest.mark.parametrize("source", [VML_BUTTON, WRAPPED_BUTTON], ids=["vml", "wrapped"])
def test_links_in_conditional_comments_are_the_ones_outlook_renders(source: str) -> None:
    reference = OutlookLinks()
    reference.feed(source)
    reference.close()

    assert tracking.links_in(source) == reference.found
    assert "https://old.example.com/" not in reference.found  # an ordinary comment


def test_a_bulletproof_button_is_tracked_in_both_its_links_and_nothing_else_changes() -> None:
    sale = "https://shop.example.com/sale?utm_source=newsletter&amp;utm_medium=email"

    out = tracking.rewrite_links(VML_BUTTON, numbered)

    assert tracking.links_in(VML_BUTTON) == [html_module.unescape(sale)] * 2
    assert out == VML_BUTTON.replace(f'"{sale}"', f'"T:{sale}"')
    assert out.count("T:https://") == 2


def test_the_links_of_a_wrapped_button_and_a_vml_banner_are_tracked_the_rest_kept() -> None:
    out = tracking.rewrite_links(WRAPPED_BUTTON, numbered)

    cart = "https://shop.example.com/cart?id=7"
    assert tracking.links_in(WRAPPED_BUTTON) == [
        cart,
        cart,
        "https://shop.example.com/banner",
        cart,
    ]
    expected = (
        WRAPPED_BUTTON.replace(f'<a href="{cart}"', f'<a href="T:{cart}"')
        .replace(f"HREF='{cart}'", f'HREF="T:{cart}"')
        .replace(
            'href="https://shop.example.com/banner"', 'href="T:https://shop.example.com/banner"'
        )
    )
    assert out == expected
    # The comments are still the same comments, to a browser as to Outlook.
    comments = re.findall(r"<!--.*?-->", out, re.S)
    assert [c[:14] for c in comments] == [
        c[:14] for c in re.findall(r"<!--.*?-->", WRAPPED_BUTTON, re.S)
    ]
    assert all(c.endswith("<![endif]-->") for c in comments if c.startswith("<!--[if mso"))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # A tag that does not end inside the comment stays as it is; after it, links count.
        (
            '<!--[if mso]><a href="https://cut.example" --><a href="https://after.example">',
            '<!--[if mso]><a href="https://cut.example" --><a href="T:https://after.example">',
        ),
        # Raw text does not run past the comment either.
        (
            '<!--[if mso]><style>a{} --><a href="https://after.example">',
            '<!--[if mso]><style>a{} --><a href="T:https://after.example">',
        ),
        # Comment-like text that is no condition (a blank before "[if") stays a comment.
        (
            '<!-- [if mso]><a href="https://no.example"><![endif]-->',
            '<!-- [if mso]><a href="https://no.example"><![endif]-->',
        ),
        # Downlevel-revealed content is ordinary HTML, rewritten once.
        (
            '<!--[if !mso]><!--><a href="https://all.example">x</a><!--<![endif]-->',
            '<!--[if !mso]><!--><a href="T:https://all.example">x</a><!--<![endif]-->',
        ),
        (
            "<!--[IF GTE MSO 9]><v:oval href=https://oval.example/ /><![ENDIF]-->",
            '<!--[IF GTE MSO 9]><v:oval href="T:https://oval.example/" /><![ENDIF]-->',
        ),
        (
            '<!--[if mso]><a href="https://open.example">',
            '<!--[if mso]><a href="https://open.example">',
        ),
    ],
    ids=["cut-tag", "cut-style", "not-a-condition", "revealed", "upper-case", "unclosed"],
)
def test_conditional_comments_keep_their_bounds(source: str, expected: str) -> None:
    assert tracking.rewrite_links(source, numbered) == expected


def test_html_without_links_is_returned_as_is() -> None:
    for source in ("", "<p>plain</p>", "<p>href in text only</p>", "<a>no href</a>"):
        assert tracking.rewrite_links(source, numbered) == source


def test_pixel_and_footer_go_before_the_end_of_the_body() -> None:
    assert tracking.append_to_body("<html><BODY><p>x</p></BODY></html>", "<i>") == (
        "<html><BODY><p>x</p><i></BODY></html>"
    )
    assert tracking.append_to_body("<p>x</p>", "<i>") == "<p>x</p><i>"
    assert 'src="https://t.example/o/a&amp;b"' in tracking.pixel("https://t.example/o/a&b")
    assert 'href="https://u.example/x"' in tracking.footer("https://u.example/x")


def test_a_link_token_binds_contact_message_and_address() -> None:
    token = links.sign(SECRET, links.CLICK, 7, "12:promo:0", "https://shop.example/a?b=1")

    assert re.fullmatch(r"[A-Za-z0-9_.-]+", token)
    assert links.verify_link(SECRET, token) == (7, "12:promo:0", "https://shop.example/a?b=1")
    assert links.verify(SECRET, links.CLICK, token) is None  # a link token is not a plain one
    other = links.sign(SECRET, links.CLICK, 7, "12:promo:0", "https://evil.example/")
    swapped = f"{other.rpartition('.')[0]}.{token.rpartition('.')[2]}"
    assert links.verify_link(SECRET, swapped) is None
    assert links.verify_link(b"other secret", token) is None
    opened = links.sign(SECRET, links.OPEN, 7, "12:promo:0")
    assert links.verify_link(SECRET, opened) is None
    assert links.verify(SECRET, links.UNSUBSCRIBE, opened) is None
    assert links.verify(SECRET, links.OPEN, opened) == (7, "12:promo:0")


def run_step(params: SendEmailParams, env: StepEnv = ENV) -> QueueEmail:
    contact = ContactView(id=5, email="jane@example.com", attributes={"FIRSTNAME": "Jane"})
    item = StepItem(
        run=RunView(run_id=12, workflow_id=3, version_id=4, contact_id=5, step_id="promo", seq=0),
        contact=contact,
        facts=Facts(),
        event={"name": "x", "properties": {"url": "https://shop.example/p?id=1&ref=mail"}},
    )
    (outcome,) = SendEmail().run(params, [item], env)
    (effect,) = outcome.effects
    assert isinstance(effect, QueueEmail)
    return effect


PROMO = SendEmailParams.model_validate(
    {
        "subject": "Sale",
        "html": (
            "<html><body><p>Hi {{ contact.FIRSTNAME }}</p>"
            '<a href="{{ event.properties.url }}">product</a>'
            '<a href="mailto:help@shop.example">help</a></body></html>'
        ),
        "text": "Hi",
    }
)


def test_send_email_with_a_public_url_tracks_links_opens_and_adds_an_unsubscribe_footer() -> None:
    email = run_step(PROMO)

    hrefs = [html_module.unescape(h) for h in re.findall(r'href="([^"]*)"', email.html)]
    assert len(hrefs) == 3
    click, mailto, unsubscribe = hrefs
    assert click.startswith(f"{PUBLIC}/t/c/")
    assert links.verify_link(SECRET, click.rpartition("/")[2]) == (
        5,
        "12:promo:0",
        "https://shop.example/p?id=1&ref=mail",
    )
    assert mailto == "mailto:help@shop.example"
    assert unsubscribe == links.unsubscribe_url(SECRET, 5, "12:promo:0", PUBLIC)
    (pixel,) = re.findall(r'<img src="([^"]*)"', email.html)
    assert pixel.startswith(f"{PUBLIC}/t/o/")
    assert links.verify(SECRET, links.OPEN, pixel.rpartition("/")[2]) == (5, "12:promo:0")
    assert email.html.endswith('border:0;margin:0;padding:0"></body></html>')
    assert email.text == f"Hi\n\nUnsubscribe: {unsubscribe}\n"
    assert email.headers is not None
    assert email.headers["List-Unsubscribe"].startswith(f"<{unsubscribe}>, <mailto:")


def test_an_author_placed_unsubscribe_link_is_used_and_not_tracked() -> None:
    params = PROMO.model_copy(
        update={"html": '<p>x</p><a href="{{ unsubscribe_url }}">leave</a>', "text": None}
    )

    email = run_step(params)

    url = links.unsubscribe_url(SECRET, 5, "12:promo:0", PUBLIC)
    assert email.html.startswith(f'<p>x</p><a href="{url}">leave</a><img src="{PUBLIC}/t/o/')
    assert email.html.count("/unsubscribe/") == 1


def test_send_email_tracks_a_bulletproof_button_for_outlook_and_keeps_the_unsubscribe_link() -> (
    None
):
    button = (
        '<!--[if mso]><v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" arcsize="10%"'
        ' href="{{ event.properties.url }}" style="height:40px;width:200px" fillcolor="#0b6e4f">'
        "<w:anchorlock/><center>Buy</center></v:roundrect>"
        '<a href="{{ unsubscribe_url }}">Unsubscribe (Outlook)</a><![endif]-->'
        '<!--[if !mso]><!-- --><a href="{{ event.properties.url }}">Buy</a>'
        '<a href="{{ unsubscribe_url }}">Unsubscribe</a><!--<![endif]-->'
    )
    params = PROMO.model_copy(update={"html": f"<html><body>{button}</body></html>"})

    email = run_step(params)

    unsubscribe = links.unsubscribe_url(SECRET, 5, "12:promo:0", PUBLIC)
    tracked = re.findall(rf'href="({re.escape(PUBLIC)}/t/c/[^"]*)"', email.html)
    assert len(tracked) == 2 and tracked[0] == tracked[1]  # the VML shape and the link
    assert links.verify_link(SECRET, tracked[0].rpartition("/")[2]) == (
        5,
        "12:promo:0",
        "https://shop.example/p?id=1&ref=mail",
    )
    assert email.html.count(f'href="{unsubscribe}"') == 2  # as placed: no footer either
    assert "<v:roundrect " in email.html and email.html.count("<![endif]-->") == 2


def test_track_false_keeps_links_and_adds_no_pixel_but_still_the_unsubscribe_link() -> None:
    email = run_step(PROMO.model_copy(update={"track": False}))

    assert "/t/" not in email.html and "<img" not in email.html
    assert 'href="https://shop.example/p?id=1&amp;ref=mail"' in email.html
    assert links.unsubscribe_url(SECRET, 5, "12:promo:0", PUBLIC) in email.html


def test_transactional_mail_gets_no_unsubscribe_link_and_an_empty_variable() -> None:
    params = PROMO.model_copy(
        update={"unsubscribe": False, "track": False, "html": "<p>[{{ unsubscribe_url }}]</p>"}
    )

    email = run_step(params)

    assert email.html == "<p>[]</p>" and email.headers is None and email.text == "Hi"


def test_without_a_public_url_the_html_is_left_as_rendered() -> None:
    params = PROMO.model_copy(
        update={"html": '<a href="https://shop.example/">s</a> {{ unsubscribe_url }}'}
    )

    email = run_step(params, dataclasses.replace(ENV, public_url=None))

    mailto = links.unsubscribe_mailto(
        SECRET, 5, "12:promo:0", "Journeyman <noreply@journeyman.invalid>"
    )
    assert email.html == f'<a href="https://shop.example/">s</a> {mailto}'
    assert email.text == "Hi"


@pytest.mark.parametrize("links_count", [20])
def test_rewriting_a_typical_email_costs_well_under_a_millisecond_or_two(links_count: int) -> None:
    """A rough bound (the measured figure is in docs/architecture.md): a 12 kB newsletter
    with 20 links, rendered, tracked and footed."""
    block = (
        '<tr><td style="padding:8px;font-family:Arial"><a href="https://shop.example/p/{i}?'
        'utm_source=mail&amp;utm_medium=email" style="color:#0a0">Product {i}</a>'
        "<p>Some words about the product, its price and why it is good.</p></td></tr>"
    )
    body = "".join(block.format(i=i) for i in range(links_count))
    params = PROMO.model_copy(
        update={"html": f"<html><body><table>{body}</table></body></html>", "text": None}
    )
    run_step(params)  # compile the template
    rounds = 200
    started = time.perf_counter()
    for _ in range(rounds):
        email = run_step(params)
    tracked = (time.perf_counter() - started) / rounds
    started = time.perf_counter()
    for _ in range(rounds):
        run_step(params, dataclasses.replace(ENV, public_url=None))
    plain = (time.perf_counter() - started) / rounds
    assert email.html.count("/t/c/") == links_count
    assert tracked - plain < 0.01, (tracked, plain)
