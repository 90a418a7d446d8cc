"""The builder's forms speak the workspace's language: every title and description of the
published workflow JSON Schema has an entry in each language's schema catalogue
(``ui/src/i18n/schema.LANG.json``, looked up as ``ui/src/schemaWords.ts`` does), every enum
value a choice, and every step kind and condition rule a name in the workspace catalogue.

A failure lists what lacks a translation: add it to the catalogue (the builder shows the
schema's English meanwhile, so a new step kind still appears)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from journeyman.workflow.document import json_schema

I18N = Path(__file__).parents[3] / "ui" / "src" / "i18n"
LANGUAGES = ["de"]  # English is the schema's own; its catalogue only overrides
ROOT = "WorkflowDocument"
# The step's own frame (id, label, ways out): the step form names these from the workspace
# catalogue, not from the schema.
STEP_FRAME = {"id", "name", "disabled", "next", "then", "else", "success", "failure"}


def owners(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object that has words for people: the document, then each $defs entry."""
    yield ROOT, schema
    yield from schema["$defs"].items()


def lookup(table: dict[str, str], owner: str, name: str) -> str | None:
    return table.get(f"{owner}.{name}") or table.get(name)


def missing(catalogue: dict[str, dict[str, str]]) -> list[str]:
    """What the builder would show in English: ``OWNER.FIELD title|help``, ``OWNER help``,
    ``choice VALUE``."""
    schema = json_schema()
    steps = set(_step_defs(schema))
    gaps: list[str] = []
    for owner, node in owners(schema):
        if owner != ROOT and node.get("description") and not catalogue["help"].get(owner):
            gaps.append(f"{owner} help")
        for name, field in (node.get("properties") or {}).items():
            if owner in steps:
                continue  # a step's frame and its kind's parameters, named elsewhere
            if not lookup(catalogue["titles"], owner, name):
                gaps.append(f"{owner}.{name} title")
            if field.get("description") and not lookup(catalogue["help"], owner, name):
                gaps.append(f"{owner}.{name} help")
    gaps += [f"choice {v}" for v in sorted(_enum_values(schema)) if v not in catalogue["choices"]]
    return gaps


def _step_defs(schema: dict[str, Any]) -> Iterator[str]:
    for member in schema["$defs"]["Step"]["oneOf"]:
        yield member["$ref"].rsplit("/", 1)[-1]


def _enum_values(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        found.update(str(v) for v in node.get("enum", []))
        if "const" in node:
            found.add(str(node["const"]))
        for value in node.values():
            found |= _enum_values(value)
    elif isinstance(node, list):
        for value in node:
            found |= _enum_values(value)
    return found


def workspace_names(language: str, section: str) -> set[str]:
    """The keys of ``section: {...}`` in the workspace catalogue ``LANG.ts``."""
    text = (I18N / f"{language}.ts").read_text()
    block = re.search(rf"\n  {section}: \{{(.*?)\n  \}},", text, re.S)
    assert block, f"no {section} in {language}.ts"
    return set(re.findall(r"^\s+\"?(\w+)\"?:", block.group(1), re.M))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_schema_title_and_description_has_an_entry(language: str) -> None:
    catalogue = json.loads((I18N / f"schema.{language}.json").read_text())
    assert missing(catalogue) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_step_kind_and_rule_has_a_name(language: str) -> None:
    schema = json_schema()
    kinds = {
        next(p for p in schema["$defs"][d]["properties"] if p not in STEP_FRAME)
        for d in _step_defs(schema)
    }
    rule = schema["$defs"]["IfStep"]["properties"]["if"]
    rule = schema["$defs"][rule["$ref"].rsplit("/", 1)[-1]] if "$ref" in rule else rule
    rules = {
        next(iter(schema["$defs"][m["$ref"].rsplit("/", 1)[-1]]["properties"]))
        for m in rule["oneOf"]
    }
    assert kinds - workspace_names(language, "kinds") == set()
    assert rules - workspace_names(language, "rules") == set()


def test_a_gap_is_listed() -> None:
    """The check sees what it checks: an empty catalogue lacks every entry."""
    gaps = missing({"titles": {}, "help": {}, "choices": {}})
    assert "SendEmailParams.subject title" in gaps and "choice every_time" in gaps
    assert "DelayParams help" in gaps
