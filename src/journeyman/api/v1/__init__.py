"""Journeyman's own API under ``/api/v1`` (Brevo has no workflow API): workflows and their
versions, lifecycle and per-step statistics, runs, contact timelines, the outbox, reports;
and for the builder: drafts, the email preview, users, the schema, contact search.

Same API keys as ``/v3``; errors are ``{"code", "message"}``, and a refused workflow document
answers 422 ``invalid_workflow`` with every problem as ``{step, field, message}``.
"""

from journeyman.api.v1 import (
    catalogue,
    contacts,
    drafts,
    graph,
    messages,
    preview,
    reports,
    runs,
    simulate,
    stats,
    step_contacts,
    versions,
    workflows,
)

# Fixed paths before parameterised ones: /workflows/validate before /workflows/{key}.
ROUTERS = (
    workflows.router,
    stats.router,
    graph.router,
    step_contacts.router,
    simulate.router,
    versions.router,
    runs.router,
    messages.router,
    reports.router,
    drafts.router,
    preview.router,
    catalogue.router,
    contacts.router,
)

__all__ = ["ROUTERS"]
