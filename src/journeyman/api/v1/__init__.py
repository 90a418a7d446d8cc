"""Journeyman's own API under ``/api/v1`` (Brevo has no workflow API): workflows and their
versions, lifecycle and per-step statistics, runs, contact timelines, the outbox, reports.

Same API keys as ``/v3``; errors are ``{"code", "message"}``, and a refused workflow document
answers 422 ``invalid_workflow`` with every problem as ``{step, field, message}``.
"""

from journeyman.api.v1 import (
    graph,
    messages,
    reports,
    runs,
    simulate,
    stats,
    versions,
    workflows,
)

# Fixed paths before parameterised ones: /workflows/validate before /workflows/{key}.
ROUTERS = (
    workflows.router,
    stats.router,
    graph.router,
    simulate.router,
    versions.router,
    runs.router,
    messages.router,
    reports.router,
)

__all__ = ["ROUTERS"]
