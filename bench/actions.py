"""The mixed-actions benchmark: ``examples/every-action.yaml`` for N contacts, one order each.

``python -m bench.actions --backend sqlite --contacts 10000``

Each run passes through 15 steps without waiting (email, SMS, WhatsApp, notification, two
lists, two attribute updates, round-robin owner, deal, task, conversion, start of another
workflow, go to, conditions) and then waits on a 30-day delay. The webhook step is disabled
here (its answer would come from outside; it passes straight to ``success``). Timed from "all
orders stored" to "engine idle" (every message in the outbox); prints one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import DEFAULT_POSTGRES_URL
from bench.worker import fresh_database, peak_rss_mb
from journeyman.app import App
from journeyman.config import Settings
from journeyman.documents import load_document
from journeyman.model.contacts import AttributeDefinition, AttributeType
from journeyman.services.events import EventInput
from journeyman.store import transaction
from journeyman.store.contacts import ContactInput
from journeyman.store.schema import conversions, deals, messages, run_log, tasks, users

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.actions", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), required=True)
    parser.add_argument("--contacts", type=int, required=True)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args(argv)
    with fresh_database(args.backend, args.postgres_url) as url:
        result = run_once(url, args.contacts, args.batch_size)
    sys.stdout.write(json.dumps({"backend": args.backend, **result, **peak_rss_mb()}) + "\n")
    return 0 if result["ok"] else 1


def prepare(app: App, count: int) -> None:
    for name, kind in (("LEAD_SCORE", AttributeType.NUMBER), ("LAST_ORDER", AttributeType.TEXT)):
        app.define_attribute(AttributeDefinition(name=name, type=kind))
    with transaction(app.engine) as connection:
        connection.execute(
            sa.insert(users),
            [
                {"name": n, "email": f"{n.lower()}@example.com", "created_at": app.clock.now()}
                for n in ("Alice", "Bob")
            ],
        )
    app.apply_workflow(load_document(EXAMPLES / "first-purchase-coupon.yaml"))
    document = load_document(EXAMPLES / "every-action.yaml")
    for step in document["steps"]:
        if "call_webhook" in step:
            step["disabled"] = True
    app.apply_workflow(document)
    app.upsert_contacts(
        [
            ContactInput(
                email=f"buyer{i:07d}@example.com",
                attributes={"FIRSTNAME": "Sam"},
                sms=f"+4915{i:09d}",
                whatsapp=f"+4916{i:09d}",
            )
            for i in range(count)
        ]
    )
    base = app.clock.now() - dt.timedelta(minutes=5)
    orders = [
        EventInput(
            name="order_created",
            email=f"buyer{i:07d}@example.com",
            occurred_at=base + dt.timedelta(microseconds=i),
            properties={"order_id": f"O{i}", "amount": 20.0 + i % 50},
        )
        for i in range(count)
    ]
    for start in range(0, count, 20_000):
        app.record_events(orders[start : start + 20_000])


def run_once(url: str, count: int, batch_size: int) -> dict[str, Any]:
    app = App.open(Settings(database_url=url, batch_size=batch_size))
    try:
        prepare(app, count)
        started = time.perf_counter()
        app.run_until_idle(None, batch_size=batch_size)
        seconds = time.perf_counter() - started
        with transaction(app.engine) as connection:
            counted = {
                name: connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for name, table in (
                    ("messages", messages),
                    ("deals", deals),
                    ("tasks", tasks),
                    ("conversions", conversions),
                    ("steps", run_log),
                )
            }
    finally:
        app.close()
    # per contact: email, SMS, WhatsApp, and the notification to sales@ and to the owner
    # (Alice or Bob); LEAD_SCORE stays under 20, so no coupon workflow is started
    expected_messages = count * 5
    return {
        "workload": "actions",
        "contacts": count,
        "batch_size": batch_size,
        "seconds": round(seconds, 3),
        "contacts_per_second": round(count / seconds, 1),
        "steps_per_second": round(counted["steps"] / seconds, 1),
        **counted,
        "ok": counted["deals"] == count
        and counted["tasks"] == count
        and counted["conversions"] == count
        and counted["messages"] == expected_messages,
    }


if __name__ == "__main__":
    sys.exit(main())
