"""Journeyman: an open-source marketing-automation engine that moves contacts in cohorts."""

from journeyman.app import App, EventInput
from journeyman.clock import Clock, FakeClock, SystemClock
from journeyman.config import Settings
from journeyman.workflow.document import Workflow, parse_workflow

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
