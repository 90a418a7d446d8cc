"""Templates cannot exhaust the engine: each render limit, the checks made before a large value
is built, validation's dry render, and the batch's share of render time."""

from __future__ import annotations

import re
import time
import tracemalloc
from typing import Any

import pytest

from journeyman import template_limits as limits
from journeyman import templating
from journeyman.errors import InvalidWorkflow
from journeyman.templating import (
    MessageTemplate,
    TemplateDeferred,
    TemplateError,
    TemplateLimitExceeded,
    check_limits,
    render,
)
from journeyman.workflow.document import parse_workflow

CONTEXT: dict[str, Any] = {"contact": {"FIRSTNAME": "Jane", "N": 10_000}, "event": {}}

OVER_A_LIMIT = {
    "constant": ("{{ 'a' * 1000000000 }}", "* would be longer than 1000000 characters"),
    "nested range loops": (
        "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}",
        "template exceeded 100000 loop iterations",
    ),
    "filtered loop": (
        "{% for a in range(1000) %}{% for b in range(1000) if false %}{% endfor %}{% endfor %}",
        "template exceeded 100000 loop iterations",
    ),
    "lipsum": ("{{ lipsum(1000000) }}", "lipsum() of more than 100 paragraphs"),
    "range": ("{{ range(10**9)|length }}", "range() of more than 10000 numbers"),
    "power": ("{{ 7 ** 100000 }}", "** would give more than 4096 bits"),
    "doubling": (
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "~ would be longer than 1000000 characters",
    ),
    "output": (
        "{% for i in range(10000) %}{{ 'x' * 500 }}{% endfor %}",
        "template output exceeded 1000000 characters",
    ),
    "literal output": (
        "{% for i in range(10000) %}" + "y" * 200 + "{% endfor %}",
        "template output exceeded 1000000 characters",
    ),
    "percent width": ("{{ '%0999999999d' % 1 }}", "% formatting would be longer than"),
    "format width": ("{{ '{:>999999999}'.format(1) }}", "format() would be longer than"),
    "center filter": ("{{ 'a'|center(1000000000) }}", "center would be longer than"),
    "ljust method": ("{{ 'a'.ljust(1000000000) }}", "ljust would be longer than"),
    "replace filter": ("{{ ('a' * 1000)|replace('a', 'b' * 2000) }}", "replace would be longer"),
    "join": ("{{ ([('a' * 100000)] * 9)|join('x' * 200000) }}", "join would be longer than"),
    "list": ("{{ ['a' * 1000] * 1000000 }}", "* would be longer than"),
}


@pytest.fixture
def unhurried(monkeypatch: pytest.MonkeyPatch) -> None:
    """A render's time limit out of the way of the limit a test is about: a 100,000-iteration
    loop takes about 0.1 s, several times that on a loaded machine or under coverage."""
    monkeypatch.setattr(limits, "MAX_RENDER_SECONDS", 10.0)


@pytest.mark.parametrize("name", OVER_A_LIMIT)
@pytest.mark.usefixtures("unhurried")
def test_a_render_over_a_limit_fails_with_the_limit_in_its_reason(name: str) -> None:
    source, reason = OVER_A_LIMIT[name]

    with pytest.raises(TemplateLimitExceeded, match=re.escape(reason)):
        render(source, CONTEXT, html=True)


@pytest.mark.parametrize("name", ["constant", "percent width", "center filter", "join", "list"])
def test_a_large_value_is_refused_before_it_is_built(name: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(TemplateLimitExceeded):
            render(OVER_A_LIMIT[name][0], CONTEXT, html=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak < 64_000_000  # bytes: no gigabyte built before the check


@pytest.mark.parametrize("name", OVER_A_LIMIT)
def test_validation_refuses_what_goes_over_a_limit_for_any_contact(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limit named, not the dry render's deadline, even on a loaded machine.
    monkeypatch.setattr(limits, "CHECK_SECONDS", 10.0)
    source, reason = OVER_A_LIMIT[name]
    started = time.monotonic()

    assert reason in (check_limits(source, html=False) or "")
    assert time.monotonic() - started < 10


def test_compiling_never_runs_the_template() -> None:
    source = "{{ 'a' * 1000000000 }}{{ 'b'|center(1000000000) }}{{ '%0999999999d' % 1 }}"
    tracemalloc.start()
    try:
        assert templating.check_template(source, html=True) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak < 16_000_000


def test_a_render_that_runs_too_long_is_stopped_at_the_time_limit() -> None:
    # no loop at all: a macro calling itself twice, 2**30 calls
    source = (
        "{% macro f(n) %}{% if n < 30 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}"
        "{{ f(0) }}"
    )
    started = time.monotonic()

    with pytest.raises(TemplateLimitExceeded, match=re.escape("template took longer than 0.5 s")):
        render(source, CONTEXT, html=False)
    assert time.monotonic() - started < 5


@pytest.mark.usefixtures("unhurried")
def test_limits_depending_on_the_data_pass_validation_and_fail_the_render() -> None:
    source = (
        "{% for a in range(contact.N) %}{% for b in range(contact.N) %}{% endfor %}{% endfor %}"
    )

    assert check_limits(source, html=True) is None
    with pytest.raises(TemplateLimitExceeded, match="100000 loop iterations"):
        render(source, CONTEXT, html=True)


def test_recursive_loops_are_refused_at_compile_time() -> None:
    error = templating.check_template("{% for x in [1] recursive %}{% endfor %}", html=True)

    assert error == "line 1: recursive loops are not allowed"


def test_a_real_email_renders_as_before() -> None:
    template = MessageTemplate(
        "Thank you, {{ contact.FIRSTNAME | default('friend', true) }}",
        "<p>{% for item in event.properties['items'] %}<b>{{ item.name }}</b> "
        "{{ '%.2f' % item.price }}{{ ', ' if not loop.last }}{% endfor %}</p>"
        "<p>{{ 'Total: {:.2f}'.format(event.properties.total) }} {{ 'x' ~ 'y' }}</p>",
        "{{ contact.FIRSTNAME|center(9) }}|{{ lipsum(1, false, 3, 4)|length > 0 }}",
        "shop@example.com",
    )
    event = {"properties": {"items": [{"name": "Mug", "price": 9.5}], "total": 9.5}}

    assert template.render({"contact": {"FIRSTNAME": "Jane"}, "event": event}) == (
        "Thank you, Jane",
        "<p><b>Mug</b> 9.50</p><p>Total: 9.50 xy</p>",
        "   Jane  |True",
        "shop@example.com",
    )


@pytest.mark.usefixtures("unhurried")
def test_each_render_has_its_own_budget() -> None:
    # 62,500 iterations: more than half the loop limit
    source = "{% for i in range(250) %}{% for j in range(250) %}{% endfor %}{% endfor %}"

    for _ in range(3):
        assert render(source, CONTEXT, html=False) == ""


def test_past_the_batchs_render_time_a_render_is_deferred_not_failed() -> None:
    with limits.batch_budget(0.0), pytest.raises(TemplateDeferred, match="batch used its"):
        render("Hi {{ contact.FIRSTNAME }}", CONTEXT, html=False)


def test_a_render_cut_short_by_the_batchs_time_is_deferred() -> None:
    source = "{% for i in range(10000) %}{{ range(10000)|list|sort|length }}{% endfor %}"

    with limits.batch_budget(0.05), pytest.raises(TemplateDeferred):
        render(source, CONTEXT, html=False)


def test_workflow_validation_names_the_step_and_field_of_a_template_over_a_limit() -> None:
    document = {
        "key": "w",
        "name": "W",
        "entry_points": [{"event": "purchase"}],
        "steps": [
            {"id": "mail", "send_email": {"subject": "Hi", "html": "{{ 'a' * 1000000000 }}"}},
        ],
    }

    with pytest.raises(InvalidWorkflow) as refused:
        parse_workflow(document)

    (problem,) = refused.value.problems
    assert (problem.step, problem.field) == ("mail", "send_email.html")
    assert problem.message == "template: * would be longer than 1000000 characters"
    # a version stored before the limits loads: its runs fail one by one instead
    assert parse_workflow(document, stored=True).steps["mail"]


def test_the_template_error_is_still_a_template_error() -> None:
    assert issubclass(TemplateLimitExceeded, TemplateError)
    assert issubclass(TemplateDeferred, TemplateError)
