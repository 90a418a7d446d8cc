"""Journeyman: an open-source marketing-automation engine that moves contacts in cohorts.

The names below are imported on first use (PEP 562), so a command that needs none of them
(``journeyman --help``) does not pay for the engine, the store and their libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from journeyman.app import App
    from journeyman.clock import Clock, FakeClock, SystemClock
    from journeyman.config import Settings
    from journeyman.services.events import EventInput
    from journeyman.workflow.document import Workflow, parse_workflow

_HOMES = {
    "App": "journeyman.app",
    "EventInput": "journeyman.services.events",
    "Clock": "journeyman.clock",
    "FakeClock": "journeyman.clock",
    "SystemClock": "journeyman.clock",
    "Settings": "journeyman.config",
    "Workflow": "journeyman.workflow.document",
    "parse_workflow": "journeyman.workflow.document",
}

__all__ = [
    "App",
    "Clock",
    "EventInput",
    "FakeClock",
    "Settings",
    "SystemClock",
    "Workflow",
    "parse_workflow",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'journeyman' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
