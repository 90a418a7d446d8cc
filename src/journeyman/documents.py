"""Reading workflow files: YAML or JSON, with template files inlined (the edge, with I/O).

Only the command line reads template files, relative to the workflow file; the HTTP API
never reads a file an API client names (its documents carry their templates in
``templates:``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from journeyman.errors import InvalidWorkflow, Problem
from journeyman.model.workflow import Workflow, parse_workflow


def load_document(path: Path) -> dict[str, Any]:
    """The document in ``path`` with every ``template:`` file read into ``html``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidWorkflow([Problem(message=f"cannot read {path}: {exc.strerror}")]) from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise InvalidWorkflow([Problem(message=f"{path} is not valid YAML/JSON: {exc}")]) from None
    if not isinstance(raw, dict):
        raise InvalidWorkflow([Problem(message=f"{path}: a workflow document is a mapping")])
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
