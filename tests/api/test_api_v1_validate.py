"""``POST /api/v1/workflows/validate`` over real HTTP, on SQLite and PostgreSQL: it refuses
what apply refuses — unknown attributes, users and workflows, with the step and the field of
the reference and the same problems as apply and activate — and stores nothing; lists apply
would create are reported, not refused. Named templates (``templates:``) over HTTP; a
``template:`` that names a file on the server is refused, and the file is never read."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import httpx
import pytest

from .api_support import Reader, Server, cli

_numbers = itertools.count(1)


@pytest.fixture
def client(backend_server: Server) -> Any:
    with backend_server.client() as http:
        yield http


@pytest.fixture
def reader(backend_server: Server) -> Any:
    found = Reader(backend_server.db_url)
    try:
        yield found
    finally:
        found.close()


@pytest.fixture
def tag() -> str:
    """A name part of this test's own (the SQLite server is shared by the whole tier)."""
    return f"vr{next(_numbers)}"


def document(key: str, *steps: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "key": key,
        "name": f"Workflow {key}",
        "entry_points": [{"event": f"{key}_happened"}],
        "steps": list(steps),
        **more,
    }


def chain(*steps: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps, each leading to the next (an ``if`` names its own ways out)."""
    linked = [dict(s) for s in steps]
    for step, after in itertools.pairwise(linked):
        if "if" not in step:
            step["next"] = after["id"]
    return linked


def referring(tag: str) -> dict[str, Any]:
    """A workflow naming an attribute, users (three ways) and a workflow that do not exist."""
    return document(
        f"{tag}-refs",
        *chain(
            {"id": "score", "update_attribute": {"name": f"{tag}_score", "add": 5}},
            {
                "id": "vip",
                "if": {"all": [{"in_list": f"{tag} VIP"}, {"owner": {"user": f"{tag}@x.io"}}]},
                "then": "owner",
                "else": "owner",
            },
            {"id": "owner", "assign_user": {"round_robin": [f"a-{tag}@x.io", f"b-{tag}@x.io"]}},
            {"id": "go", "start_workflow": {"workflow": f"{tag}-next"}},
        ),
    )


def problems(answer: httpx.Response) -> list[tuple[str, str, str]]:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "invalid_workflow"
    return [(p["step"], p["field"], p["message"]) for p in body["problems"]]


def stored(reader: Reader, tag: str) -> tuple[int, int, int]:
    """Workflows, versions and lists whose names carry ``tag``."""
    like = f"%{tag}%"
    return (
        reader.value("SELECT count(*) FROM workflows WHERE key LIKE :like", like=like),
        reader.value(
            "SELECT count(*) FROM workflow_versions v JOIN workflows w ON w.id = v.workflow_id "
            "WHERE w.key LIKE :like",
            like=like,
        ),
        reader.value("SELECT count(*) FROM lists WHERE name LIKE :like", like=like),
    )


def test_unknown_names_are_refused_with_their_step_and_field_like_apply_does(
    client: httpx.Client, reader: Reader, tag: str
) -> None:
    validated = client.post("/api/v1/workflows/validate", json=referring(tag))
    applied = client.post("/api/v1/workflows", json=referring(tag))

    assert problems(validated) == [
        ("score", "update_attribute.name", f"attribute '{tag.upper()}_SCORE' does not exist"),
        ("owner", "assign_user.round_robin.0", f"user 'a-{tag}@x.io' does not exist"),
        ("owner", "assign_user.round_robin.1", f"user 'b-{tag}@x.io' does not exist"),
        ("vip", "if.all.1.owner.user", f"user '{tag}@x.io' does not exist"),
        ("go", "start_workflow.workflow", f"workflow '{tag}-next' does not exist"),
    ]
    assert problems(applied) == problems(validated)
    assert stored(reader, tag) == (0, 0, 0)


def test_once_the_names_exist_validate_answers_ok_and_still_stores_nothing(
    backend_server: Server, client: httpx.Client, reader: Reader, tag: str, tmp_path: Path
) -> None:
    other = document(f"{tag}-next", {"id": "hi", "add_to_list": {"lists": f"{tag} others"}})
    assert client.post("/api/v1/workflows", json=other).status_code == 200
    created = client.post(f"/v3/contacts/attributes/normal/{tag}_SCORE", json={"type": "float"})
    assert created.status_code == 201, created.text
    for email in (f"{tag}@x.io", f"a-{tag}@x.io", f"b-{tag}@x.io"):
        cli(tmp_path, backend_server.db_url, "users", "create", email, email)
    before = stored(reader, tag)

    answer = client.post("/api/v1/workflows/validate", json=referring(tag))

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "ok": True,
        "key": f"{tag}-refs",
        "steps": 4,
        "lists_to_create": [f"{tag} VIP"],
    }
    assert stored(reader, tag) == before == (1, 1, 1)
    applied = client.post("/api/v1/workflows", json=referring(tag))
    assert applied.json()["lists_created"] == [f"{tag} VIP"]


def test_an_unknown_list_is_not_refused_it_is_reported_as_to_be_created(
    client: httpx.Client, reader: Reader, tag: str
) -> None:
    workflow = document(f"{tag}-lists", {"id": "tag", "add_to_list": {"lists": f"{tag} new"}})

    answer = client.post("/api/v1/workflows/validate", json=workflow)

    assert answer.status_code == 200, answer.text
    assert answer.json()["lists_to_create"] == [f"{tag} new"]
    assert stored(reader, tag) == (0, 0, 0)


def test_a_draft_may_name_a_workflow_that_does_not_exist_yet_activate_refuses_the_same(
    client: httpx.Client, tag: str
) -> None:
    workflow = document(f"{tag}-draft", {"id": "go", "start_workflow": {"workflow": f"{tag}-x"}})
    expected = [("go", "start_workflow.workflow", f"workflow '{tag}-x' does not exist")]

    as_active = client.post("/api/v1/workflows/validate", json=workflow)
    as_draft = client.post("/api/v1/workflows/validate", params={"draft": "true"}, json=workflow)
    applied = client.post("/api/v1/workflows", params={"draft": "true"}, json=workflow)
    activated = client.post(f"/api/v1/workflows/{tag}-draft/activate")

    assert problems(as_active) == expected
    assert as_draft.status_code == 200, as_draft.text
    assert applied.json()["status"] == "draft"
    assert problems(activated) == expected
    assert client.get(f"/api/v1/workflows/{tag}-draft").json()["status"] == "draft"


def test_a_start_step_missing_from_the_target_is_refused(client: httpx.Client, tag: str) -> None:
    target = document(f"{tag}-target", {"id": "first", "add_to_list": {"lists": f"{tag} t"}})
    assert client.post("/api/v1/workflows", json=target).status_code == 200
    workflow = document(
        f"{tag}-start", {"id": "go", "start_workflow": {"workflow": f"{tag}-target", "step": "x"}}
    )

    answer = client.post("/api/v1/workflows/validate", json=workflow)

    assert problems(answer) == [
        ("go", "start_workflow.step", f"workflow '{tag}-target' has no step 'x'")
    ]


# --- named templates ----------------------------------------------------------------------


def emailing(key: str, template: str, **more: Any) -> dict[str, Any]:
    step = {"id": "mail", "send_email": {"subject": "Hi", "template": template}}
    return document(key, step, **more)


def test_named_templates_are_inlined_into_the_stored_version(
    client: httpx.Client, tag: str
) -> None:
    html = "<p>Hello {{ contact.FIRSTNAME }}</p>"
    workflow = emailing(f"{tag}-tpl", "welcome.html", templates={"welcome.html": html})

    validated = client.post("/api/v1/workflows/validate", json=workflow)
    applied = client.post("/api/v1/workflows", json=workflow)
    again = client.post("/api/v1/workflows", json=workflow)

    assert validated.status_code == 200, validated.text
    assert applied.status_code == 200, applied.text
    assert again.json()["unchanged"] is True
    stored_document = client.get(f"/api/v1/workflows/{tag}-tpl").json()["document"]
    assert stored_document["steps"][0]["send_email"]["html"] == html
    assert "templates" not in stored_document


def test_a_template_naming_a_server_file_is_refused_and_the_file_is_never_read(
    backend_server: Server, client: httpx.Client, reader: Reader, tag: str, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.html"
    secret.write_text("<p>SECRET-CONTENT</p>", encoding="utf-8")
    log = backend_server.log_text()

    answers = [
        client.post("/api/v1/workflows/validate", json=emailing(f"{tag}-file", str(secret))),
        client.post("/api/v1/workflows", json=emailing(f"{tag}-file", str(secret))),
        client.post("/api/v1/workflows", json=emailing(f"{tag}-rel", "templates/coupon.html")),
        client.post(
            "/api/v1/workflows",
            json=emailing(f"{tag}-other", "a.html", templates={"b.html": "<p>b</p>"}),
        ),
    ]

    for answer in answers:
        ((step, field, message),) = problems(answer)
        assert (step, field) == ("mail", "send_email.template")
        assert "is not in the document's templates" in message
        assert "reads no files" in message
        assert "SECRET-CONTENT" not in answer.text
    assert stored(reader, tag) == (0, 0, 0)
    assert "SECRET-CONTENT" not in backend_server.log_text()[len(log) :]


def test_a_template_over_a_render_limit_is_refused_with_its_step_and_field(
    client: httpx.Client, reader: Reader, tag: str
) -> None:
    hostile = {"subject": "Hi", "html": "<p>{{ 'a' * 1000000000 }}</p>"}
    answer = client.post(
        "/api/v1/workflows/validate", json=document(tag, {"id": "mail", "send_email": hostile})
    )

    assert problems(answer) == [
        ("mail", "send_email.html", "template: * would be longer than 1000000 characters")
    ]
    assert stored(reader, tag) == (0, 0, 0)
