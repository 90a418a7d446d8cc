"""Whom the facts loader loads facts for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Subject(Protocol):
    """A contact to load facts for, as of an anchor event.

    ``key`` names the subject in what the loader returns and is the ``run_id`` of its facts
    (what percentage splits draw by). Event history goes up to ``anchor_event_id`` (as for a
    run that event started), else up to now. ``workflow_id`` is the workflow whose messages
    count for "messages of step X"; None when there is none (nothing counts). A run
    (``model.runs.RunView``) is one: its id, its trigger event, its workflow.
    """

    @property
    def key(self) -> int: ...

    @property
    def contact_id(self) -> int: ...

    @property
    def anchor_event_id(self) -> int | None: ...

    @property
    def workflow_id(self) -> int | None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Probe:
    """A subject that is not a run: a contact as of an event (an entry point's contact
    filter) or as of now (a segment), keyed by the caller's choice."""

    key: int
    contact_id: int
    anchor_event_id: int | None = None
    workflow_id: int | None = None
