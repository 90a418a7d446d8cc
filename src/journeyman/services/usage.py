"""Which workflows name a list or an attribute: renaming or deleting one under a workflow
would break it, so that is refused, saying which workflows to change first."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.engine import Connection

from journeyman.errors import InvalidInput
from journeyman.store import workflows


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def workflows_naming(
    documents: Mapping[str, Mapping[str, Any]], name: str, *, in_templates: str | None = None
) -> list[str]:
    """Keys of the workflows with ``name`` as a value anywhere in their document (or, with
    ``in_templates="contact"``, as ``contact.NAME`` inside a template). Conservative: a
    subject line that equals the name counts too."""
    template = (
        re.compile(rf"\b{re.escape(in_templates)}\.{re.escape(name)}\b") if in_templates else None
    )
    return sorted(
        key
        for key, document in documents.items()
        if any(s == name or (template and template.search(s)) for s in _strings(document))
    )


def refuse_if_used_txn(
    connection: Connection, what: str, name: str, *, in_templates: str | None = None
) -> None:
    used = workflows_naming(
        workflows.workflow_documents_txn(connection), name, in_templates=in_templates
    )
    if used:
        raise InvalidInput(
            f"{what} {name!r} is used by workflow(s) {', '.join(used)}: change or stop them first"
        )
