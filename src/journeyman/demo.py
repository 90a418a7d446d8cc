"""``journeyman demo``: the source document's example end to end, measured from the database."""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from journeyman.app import App
from journeyman.channels.capture import CaptureTransport
from journeyman.documents import load_document
from journeyman.engine.dispatch import EmailTransport
from journeyman.model.contacts import ContactInput
from journeyman.runtime import engine
from journeyman.services import contacts as contact_service
from journeyman.services import events as event_service
from journeyman.services import stats
from journeyman.services.events import EventInput

EXAMPLE = "first-purchase-coupon.yaml"
LOYAL = "Loyal customers"
_FIRST_NAMES = ("Jane", "Max", "Aylin", "Lukas", "Sofia", "Jonas", "Mia", "Noah", "Emma", "Ben")


@dataclass(frozen=True, kw_only=True)
class DemoResult:
    contacts: int
    purchases: int
    runs_completed: int
    runs_failed: int
    emails_sent: int
    emails_queued: int
    added_to_list: int
    contacts_emailed_twice: int
    expected_emails: int
    expected_added_to_list: int
    seconds_loading: float
    seconds_engine: float

    @property
    def as_expected(self) -> bool:
        return (
            self.emails_sent == self.expected_emails
            and self.added_to_list == self.expected_added_to_list
            and self.contacts_emailed_twice == 0
            and self.runs_failed == 0
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "as_expected": self.as_expected}


def example_path() -> Path:
    return Path(str(resources.files("journeyman") / "examples" / EXAMPLE))


def load_demo_data(app: App, count: int, *, chunk: int = 20_000) -> int:
    """N contacts, each purchases once; every third (index 0, 3, 6, ...) once more, later."""
    app.apply_workflow(load_document(example_path()))
    emails = [f"customer{i:07d}@example.com" for i in range(count)]
    for start in range(0, count, chunk):
        contact_service.upsert(
            app,
            [
                ContactInput(email=e, attributes={"FIRSTNAME": _FIRST_NAMES[i % 10]})
                for i, e in enumerate(emails[start : start + chunk], start)
            ],
        )
    base = app.clock.now() - dt.timedelta(hours=1)
    purchases = [
        EventInput(
            name="purchase",
            email=e,
            occurred_at=base + dt.timedelta(microseconds=i),
            properties={"amount": round(20 + (i % 50) * 1.5, 2), "order_id": f"A{i}"},
            source="demo",
        )
        for i, e in enumerate(emails)
    ]
    purchases += [
        EventInput(
            name="purchase",
            email=emails[i],
            occurred_at=base + dt.timedelta(minutes=30, microseconds=i),
            properties={"amount": 35.0, "order_id": f"B{i}"},
            source="demo",
        )
        for i in range(0, count, 3)
    ]
    for start in range(0, len(purchases), chunk):
        report = event_service.record(app, purchases[start : start + chunk])
        if report.rejected:
            raise RuntimeError(f"demo events rejected: {report.rejected[:3]}")
    return len(purchases)


def measure(app: App, count: int, seconds_loading: float, seconds_engine: float) -> DemoResult:
    totals = stats.totals(app, event="purchase", list_name=LOYAL)
    return DemoResult(
        contacts=totals.contacts,
        purchases=totals.events,
        runs_completed=totals.runs.get("completed", 0),
        runs_failed=totals.runs.get("failed", 0),
        emails_sent=totals.messages.get("sent", 0),
        emails_queued=totals.messages.get("queued", 0) + totals.messages.get("sending", 0),
        added_to_list=totals.list_members,
        contacts_emailed_twice=totals.contacts_emailed_more_than_once,
        expected_emails=count,
        expected_added_to_list=math.ceil(count / 3),
        seconds_loading=round(seconds_loading, 3),
        seconds_engine=round(seconds_engine, 3),
    )


def run_demo(
    app: App, count: int, transport: EmailTransport | None = None, *, workers: int = 1
) -> DemoResult:
    started = time.perf_counter()
    load_demo_data(app, count)
    loaded = time.perf_counter()
    engine.run_until_idle(app, transport or CaptureTransport(), workers=workers)
    finished = time.perf_counter()
    return measure(app, count, loaded - started, finished - loaded)
