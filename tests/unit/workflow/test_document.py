"""Workflow documents: the problems validation names, the example, the JSON Schema."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

import journeyman
from journeyman.documents import load_document
from journeyman.errors import InvalidWorkflow, Problem
from journeyman.workflow.document import json_schema, parse_workflow

EXAMPLE = Path(journeyman.__file__).parent / "examples" / "first-purchase-coupon.yaml"


def document(*steps: Any, **fields: Any) -> dict[str, Any]:
    return {"name": "Test flow", "entry_points": [{"event": "purchase"}], "steps": list(steps)} | (
        fields
    )


def problems_of(raw: Any) -> list[Problem]:
    with pytest.raises(InvalidWorkflow) as caught:
        parse_workflow(raw)
    assert caught.value.problems, "InvalidWorkflow without problems"
    for problem in caught.value.problems:  # every problem is also in the message
        assert str(problem) in str(caught.value)
    return list(caught.value.problems)


def only_problem(raw: Any) -> Problem:
    problems = problems_of(raw)
    assert len(problems) == 1, problems
    return problems[0]


ADD = {"add_to_list": {"lists": "L"}}


def test_an_unknown_step_kind_is_named_with_the_kinds_that_exist() -> None:
    problem = only_problem(document({"id": "notify", "send_fax": {"text": "hi"}}))

    assert problem.step == "notify"
    assert "unknown step kind 'send_fax'" in problem.message
    assert "send_email" in problem.message  # what was expected
    assert "'notify'" in str(problem)


def test_a_dangling_branch_target_names_the_step_and_the_branch() -> None:
    raw = document({"id": "check", "if": {"in_list": "L"}, "then": "nowhere", "else": "end"})

    problem = only_problem(raw)

    assert (problem.step, problem.field) == ("check", "then")
    assert "'nowhere'" in problem.message
    assert str(problem).startswith("step 'check', field 'then': ")


def test_a_dangling_next_is_refused_too() -> None:
    problem = only_problem(document({"id": "a", **ADD, "next": "b"}))

    assert (problem.step, problem.field) == ("a", "next")


@pytest.mark.parametrize("missing", ["then", "else"])
def test_an_if_needs_both_branches(missing: str) -> None:
    step = {"id": "check", "if": {"in_list": "L"}, "then": "end", "else": "end"}
    del step[missing]

    problem = only_problem(document(step))

    assert (problem.step, problem.field) == ("check", missing)
    assert "required" in problem.message.lower()


def test_an_unreachable_step_is_named() -> None:
    raw = document(
        {"id": "first", "if": {"in_list": "L"}, "then": "end", "else": "end"},
        {"id": "orphan", **ADD},
    )

    problem = only_problem(raw)

    assert problem.step == "orphan"
    assert "unreachable" in problem.message and "'first'" in problem.message


def test_a_duplicate_step_id_is_named() -> None:
    problem = only_problem(document({"id": "a", **ADD, "next": "a"}, {"id": "a", **ADD}))

    assert (problem.step, problem.field) == ("a", "id")
    assert "duplicate" in problem.message


def test_end_is_not_a_step_id() -> None:
    problem = only_problem(document({"id": "end", **ADD}))

    assert (problem.step, problem.field) == ("end", "id")


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"minutes": 0}, "delay", "at least 1 minute"),
        ({}, "delay", "at least 1 minute"),
        ({"months": 61}, "delay.months", "60"),
        ({"days": 2000}, "delay", "at most 60 months"),
        ({"months": 60, "minutes": 1}, "delay", "at most 60 months"),
        ({"hours": -1}, "delay.hours", "greater than or equal to 0"),
        ({"minutes": "soon"}, "delay.minutes", "integer"),
        ({"seconds": 30}, "delay.seconds", "unknown field"),
    ],
)
def test_bad_delays_name_the_step_and_field(params: dict[str, Any], field: str, words: str) -> None:
    problem = only_problem(document({"id": "wait", "delay": params}))

    assert (problem.step, problem.field) == ("wait", field)
    assert words in problem.message


@pytest.mark.parametrize(
    "params", [{"minutes": 1}, {"months": 60}, {"weeks": 260}, {"days": 3, "hours": 4}]
)
def test_delays_within_bounds_are_accepted(params: dict[str, int]) -> None:
    workflow = parse_workflow(document({"id": "wait", "delay": params}))

    assert workflow.steps["wait"].kind == "delay"


def test_template_syntax_errors_name_the_step_and_the_field() -> None:
    email = {"subject": "Hi {{ contact.FIRSTNAME ", "html": "<p>{% if %}</p>", "text": "ok"}

    problems = problems_of(document({"id": "mail", "send_email": email}))

    assert {(p.step, p.field) for p in problems} == {
        ("mail", "send_email.subject"),
        ("mail", "send_email.html"),
    }
    assert all("template error: line 1" in p.message for p in problems)


def test_a_template_file_that_was_not_inlined_is_refused() -> None:
    email = {"subject": "Hi", "template": "templates/missing.html"}

    problem = only_problem(document({"id": "mail", "send_email": email}))

    assert (problem.step, problem.field) == ("mail", "send_email.template")


def test_a_named_template_is_inlined_and_the_map_is_not_stored() -> None:
    email = {"subject": "Hi", "template": "templates/coupon.html"}
    raw = document(
        {"id": "mail", "send_email": email},
        templates={"templates/coupon.html": "<p>{{ contact.FIRSTNAME }}</p>", "unused": "x"},
    )
    before = copy.deepcopy(raw)

    workflow = parse_workflow(raw)

    assert workflow.steps["mail"].params.html == "<p>{{ contact.FIRSTNAME }}</p>"
    assert workflow.document["steps"][0]["send_email"]["html"] == "<p>{{ contact.FIRSTNAME }}</p>"
    assert "templates" not in workflow.document
    assert raw == before


def test_inline_html_wins_over_a_named_template() -> None:
    email = {"subject": "Hi", "template": "t", "html": "<p>inline</p>"}

    workflow = parse_workflow(document({"id": "mail", "send_email": email}, templates={"t": "x"}))

    assert workflow.steps["mail"].params.html == "<p>inline</p>"


def test_a_template_name_missing_from_the_map_is_refused() -> None:
    email = {"subject": "Hi", "template": "a.html"}

    problem = only_problem(document({"id": "mail", "send_email": email}, templates={"b": "y"}))

    assert (problem.step, problem.field) == ("mail", "send_email.template")
    assert problem.message.startswith("template 'a.html' is not in the document's templates")


def test_a_named_template_is_checked_like_inline_html() -> None:
    email = {"subject": "Hi", "template": "t"}

    problem = only_problem(
        document({"id": "mail", "send_email": email}, templates={"t": "<p>{% if %}</p>"})
    )

    assert (problem.step, problem.field) == ("mail", "send_email.html")


def test_templates_must_map_names_to_text() -> None:
    problem = only_problem(document(ADD | {"id": "a"}, templates={"t": ["not", "text"]}))

    assert problem.field == "templates.t"


def test_a_file_reads_named_templates_from_its_map_and_others_from_files(tmp_path: Path) -> None:
    (tmp_path / "file.html").write_text("<p>from the file</p>", encoding="utf-8")
    (tmp_path / "flow.yaml").write_text(
        yaml.safe_dump(
            document(
                {"id": "a", "send_email": {"subject": "A", "template": "file.html"}, "next": "b"},
                {"id": "b", "send_email": {"subject": "B", "template": "named.html"}},
                templates={"named.html": "<p>from the map</p>"},
            )
        ),
        encoding="utf-8",
    )

    workflow = parse_workflow(load_document(tmp_path / "flow.yaml"))  # no named.html file

    assert workflow.steps["a"].params.html == "<p>from the file</p>"
    assert workflow.steps["b"].params.html == "<p>from the map</p>"


def test_an_email_needs_a_body() -> None:
    problem = only_problem(document({"id": "mail", "send_email": {"subject": "Hi"}}))

    assert (problem.step, problem.field) == ("mail", "send_email")


@pytest.mark.parametrize(
    ("step", "field"),
    [
        ({"id": "a", **ADD, "colour": "red"}, "colour"),
        ({"id": "a", "add_to_list": {"lists": []}}, "add_to_list.lists"),
        ({"id": "a", "add_to_list": {"lists": [""]}}, "add_to_list.lists.0"),
        ({"id": "1st", **ADD}, "id"),
    ],
)
def test_bad_step_fields_are_named(step: dict[str, Any], field: str) -> None:
    problem = only_problem(document(step))

    assert (problem.step, problem.field) == (step["id"], field)


def test_a_step_with_two_kinds_or_none_is_refused() -> None:
    two = only_problem(document({"id": "a", **ADD, "delay": {"minutes": 5}}))
    none = only_problem(document({"id": "a", "next": "end"}))

    assert two.step == none.step == "a"
    assert "several step kinds" in two.message
    assert "no step kind" in none.message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"entry_points": []}, "entry_points"),
        ({"reentry": "sometimes"}, "reentry"),
        ({"key": "Not A Key"}, "key"),
        ({"name": ""}, "name"),
        ({"steps": []}, "steps"),
        ({"owner": "me"}, "owner"),
    ],
)
def test_bad_document_fields_are_named(change: dict[str, Any], field: str) -> None:
    problems = problems_of(document({"id": "a", **ADD}) | change)

    assert field in {p.field for p in problems}


def test_every_problem_is_reported_at_once() -> None:
    raw = document(
        {"id": "a", "if": {"in_list": "L"}, "then": "gone", "else": "end"},
        {"id": "b", "delay": {"minutes": 0}},
        {"id": "c", "send_fax": {}},
    )

    problems = problems_of(raw)

    # a's dangling target is reported beside b's and c's own problems
    assert {(p.step, p.field) for p in problems} == {("a", "then"), ("b", "delay"), ("c", None)}


def test_not_a_mapping() -> None:
    assert only_problem(["steps"]).step is None
    assert only_problem(document("hello")).step == "#1"


def test_the_example_parses() -> None:
    workflow = parse_workflow(load_document(EXAMPLE))

    assert workflow.key == "first-purchase-coupon"
    assert workflow.reentry == "every_time"
    assert workflow.first_step == "is_first_purchase"
    assert [e.event_names for e in workflow.entry_points] == [frozenset({"purchase"})]
    assert workflow.target("is_first_purchase", "then") == "send_coupon"
    assert workflow.target("is_first_purchase", "else") == "add_to_loyal"
    assert workflow.target("send_coupon", "next") is None
    assert workflow.lists_used() == {"Loyal customers": ["add_to_loyal"]}
    assert "{{ unique_code('THANKS-') }}" in workflow.steps["send_coupon"].params.html


def test_the_key_defaults_to_a_slug_of_the_name_and_end_means_none() -> None:
    workflow = parse_workflow(
        document(
            {"id": "a", "if": {"in_list": "L"}, "then": "end", "else": "b"},
            {"id": "b", **ADD},
            name="Welcome, new Customers!",
        )
    )

    assert workflow.key == "welcome-new-customers"
    assert workflow.document["key"] == "welcome-new-customers"
    assert workflow.target("a", "then") is None
    assert workflow.target("a", "else") == "b"


def test_parsing_does_not_change_the_input() -> None:
    raw = load_document(EXAMPLE)
    before = copy.deepcopy(raw)

    parse_workflow(raw)

    assert raw == before


# --- the JSON Schema ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_the_schema_accepts_the_example(validator: jsonschema.protocols.Validator) -> None:
    as_written = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))

    assert list(validator.iter_errors(as_written)) == []
    assert list(validator.iter_errors(load_document(EXAMPLE))) == []


def test_the_schema_accepts_named_templates(validator: jsonschema.protocols.Validator) -> None:
    raw = document(
        {"id": "mail", "send_email": {"subject": "Hi", "template": "t"}}, templates={"t": "<p/>"}
    )

    assert list(validator.iter_errors(raw)) == []
    assert list(validator.iter_errors(raw | {"templates": {"t": 1}})) != []


def test_the_schema_refuses_an_unknown_step_kind(validator: jsonschema.protocols.Validator) -> None:
    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    raw["steps"].append({"id": "text_them", "send_fax": {"text": "hi"}})

    errors = list(validator.iter_errors(raw))

    assert errors
    assert any(list(e.absolute_path)[:2] == ["steps", 3] for e in errors)


def test_the_schema_refuses_what_the_model_refuses(
    validator: jsonschema.protocols.Validator,
) -> None:
    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    raw["reentry"] = "sometimes"

    assert list(validator.iter_errors(raw))
