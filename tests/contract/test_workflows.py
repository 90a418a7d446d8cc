"""Workflow versions on both databases: idempotent apply, new versions, lists created,
statuses."""

from __future__ import annotations

import datetime as dt

import pytest

from journeyman import App
from journeyman.errors import InvalidWorkflow, NotFound
from journeyman.store.workflows import WorkflowStatus

from .support import (
    clock_of,
    count,
    coupon_document,
    email_step,
    rows,
    send,
    tick_until_idle,
    workflow,
)


def test_applying_the_same_document_again_changes_nothing(app: App) -> None:
    first = app.apply_workflow(coupon_document())
    clock_moved = app.clock.now()
    again = app.apply_workflow(coupon_document())

    assert (first.key, first.version, first.created, first.status) == (
        "first-purchase-coupon",
        1,
        True,
        "active",
    )
    assert first.lists_created == ("Loyal customers",)
    assert (again.version, again.created, again.lists_created) == (1, False, ())
    assert count(app, "workflow_versions") == 1
    assert count(app, "lists") == 1
    assert clock_moved == app.clock.now()


def test_a_changed_document_makes_a_new_version(app: App) -> None:
    document = coupon_document()
    app.apply_workflow(document)
    document["steps"][1]["send_email"]["subject"] = "A new subject"

    report = app.apply_workflow(document)

    assert (report.version, report.created) == (2, True)
    (flow,) = rows(app, "workflows")
    versions = rows(app, "workflow_versions", "version")
    assert [v["version"] for v in versions] == [1, 2]
    assert flow["current_version_id"] == versions[1]["id"]
    assert versions[1]["definition"]["steps"][1]["send_email"]["subject"] == "A new subject"
    assert versions[0]["definition"]["steps"][1]["send_email"]["subject"] != "A new subject"
    assert app.apply_workflow(document).created is False


def test_lists_named_anywhere_in_the_steps_are_created_at_apply(app: App) -> None:
    app.create_lists(["Newsletter"])
    document = workflow(
        {"id": "check", "if": {"not": {"in_list": "VIP"}}, "then": "join", "else": "end"},
        {"id": "join", "add_to_list": {"lists": ["Newsletter", "Prospects"]}, "next": "leave"},
        {"id": "leave", "remove_from_list": {"lists": "Former customers"}},
    )

    report = app.apply_workflow(document)

    assert report.lists_created == ("Former customers", "Prospects", "VIP")
    assert sorted(r["name"] for r in rows(app, "lists")) == [
        "Former customers",
        "Newsletter",
        "Prospects",
        "VIP",
    ]


def test_an_invalid_document_stores_nothing(app: App) -> None:
    document = workflow({"id": "join", "add_to_list": {"lists": "New list"}, "next": "nowhere"})

    with pytest.raises(InvalidWorkflow):
        app.apply_workflow(document)

    assert count(app, "workflows") == 0 and count(app, "lists") == 0


def test_drafts_and_status_changes(app: App) -> None:
    report = app.apply_workflow(workflow(email_step()), activate=False)
    assert report.status == "draft"

    app.set_workflow_status("flow", WorkflowStatus.ACTIVE)
    assert rows(app, "workflows")[0]["status"] == "active"
    app.set_workflow_status("flow", WorkflowStatus.PAUSED)
    assert rows(app, "workflows")[0]["status"] == "paused"
    with pytest.raises(NotFound, match="'nope'"):
        app.set_workflow_status("nope", WorkflowStatus.ACTIVE)


def test_running_contacts_stay_on_their_version(app: App) -> None:
    app.apply_workflow(
        workflow(
            {"id": "wait", "delay": {"days": 1}, "next": "mail"}, email_step(subject="Version one")
        )
    )
    send(app, ("signup", "jane@example.com"))
    tick_until_idle(app)
    app.apply_workflow(
        workflow(
            {"id": "wait", "delay": {"days": 1}, "next": "mail"}, email_step(subject="Version two")
        )
    )
    send(app, ("signup", "max@example.com"))
    tick_until_idle(app)

    clock_of(app).advance(dt.timedelta(days=1))
    tick_until_idle(app)

    subjects = {m["recipient"]: m["subject"] for m in rows(app, "messages")}
    assert subjects == {"jane@example.com": "Version one", "max@example.com": "Version two"}
