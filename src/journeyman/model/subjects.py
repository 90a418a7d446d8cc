"""Who the facts loader loads facts for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Subject:
    """A contact to load facts for, as of an anchor event.

    ``key`` names the subject in what the loader returns (a run id, an event id, a contact
    id) and is the ``run_id`` of its facts (what percentage splits draw by). Event history
    goes up to ``anchor_event_id`` (as for a run that event started), else up to now.
    ``workflow_id`` is the workflow whose messages count for "messages of step X"; None
    when there is none (nothing counts).
    """

    key: int
    contact_id: int
    anchor_event_id: int | None = None
    workflow_id: int | None = None
