"""Reading workflow files: YAML or JSON, with template files inlined (the edge, with I/O).

Only the command line reads template files, relative to the workflow file; the HTTP API
never reads a file an API client names (its documents carry their templates in
``templates:``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from journeyman import nesting
from journeyman.errors import InvalidWorkflow, Problem
from journeyman.workflow.document import Workflow, parse_workflow

MAX_DOCUMENT_BYTES = 2 * 1024 * 1024  # a workflow document, from a file or over HTTP
MAX_DOCUMENT_DEPTH = 64  # levels of nested lists and mappings in a workflow document


def parse_document(data: bytes, *, yaml_text: bool, source: str) -> dict[str, Any]:
    """A workflow document from the bytes of a file or a request (``source`` names it in
    errors): at most :data:`MAX_DOCUMENT_BYTES`, UTF-8, YAML or JSON, a mapping nested at
    most :data:`MAX_DOCUMENT_DEPTH` levels. The command line and the API both read
    documents here, so they accept the same ones."""
    kind = "YAML" if yaml_text else "JSON"
    if len(data) > MAX_DOCUMENT_BYTES:
        raise _refused(f"{source} is over {MAX_DOCUMENT_BYTES:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refused(f"{source} is not UTF-8 text (byte {exc.start})") from None
    too_deep = f"{source}: nested deeper than {MAX_DOCUMENT_DEPTH} levels"
    try:
        if yaml_text:
            raw = nesting.load_yaml(text, MAX_DOCUMENT_DEPTH)
        elif nesting.json_depth(data, MAX_DOCUMENT_DEPTH) > MAX_DOCUMENT_DEPTH:
            raise _refused(too_deep)
        else:
            raw = json.loads(text or "null")
        if nesting.deeper_than(raw, MAX_DOCUMENT_DEPTH):  # YAML aliases nest values too
            raise _refused(too_deep)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise _refused(f"{source} is not valid {kind}: {_one_line(exc)}") from None
    except nesting.TooDeep as exc:
        raise _refused(f"{source}: {exc}") from None
    if not isinstance(raw, dict):
        raise _refused(f"{source}: a workflow document is a mapping (object)")
    return raw


def _one_line(exc: yaml.YAMLError | json.JSONDecodeError) -> str:
    """What is wrong and where, on one line (PyYAML's own text quotes the line with a caret
    under it, on several)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        return f"{exc.problem}{where}"
    return " ".join(str(exc).split())


def _refused(message: str) -> InvalidWorkflow:
    return InvalidWorkflow([Problem(message=message)])


def load_document(path: Path) -> dict[str, Any]:
    """The document in ``path`` with every ``template:`` file read into ``html``."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_DOCUMENT_BYTES + 1)  # no more: a larger file is refused
    except OSError as exc:
        raise _refused(f"cannot read {path}: {exc.strerror}") from None
    raw = parse_document(data, yaml_text=path.suffix != ".json", source=str(path))
    _inline_templates(raw, path.parent)
    return raw


def _inline_templates(raw: dict[str, Any], base: Path) -> None:
    """Template files, for the names the document's own ``templates:`` does not hold."""
    named = raw.get("templates")
    problems = []
    for step in raw.get("steps") or []:
        params = step.get("send_email") if isinstance(step, dict) else None
        if not isinstance(params, dict) or not params.get("template") or params.get("html"):
            continue
        if isinstance(named, dict) and params["template"] in named:
            continue
        template = base / str(params["template"])
        try:
            params["html"] = template.read_text(encoding="utf-8")
        except OSError as exc:
            problems.append(
                Problem(
                    step=str(step.get("id")),
                    field="send_email.template",
                    message=f"cannot read template file {template}: {exc.strerror}",
                )
            )
    if problems:
        raise InvalidWorkflow(problems)


def load_workflow(path: Path) -> Workflow:
    return parse_workflow(load_document(path))
