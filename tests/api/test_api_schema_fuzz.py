"""Schemathesis over the server's own OpenAPI document: every operation it lists, with
generated valid and invalid requests, over real HTTP.

The checks: no answer is a server error (each 500 it found was a bug, fixed where it was; the
regression tests are in the matching test_api_*.py); every status code, content type, header
and body is one the document declares for that operation; a method a path does not have is
a 405 naming the ones it has; an operation that declares a key refuses a request without
one. The document is fetched from the running server, so routes added later are fuzzed as
soon as they are published.

Schemathesis runs through its command line (``schemathesis run``: its examples, coverage and
fuzzing phases) with a schemathesis.toml the test writes, the interface it keeps stable; its
pytest plugin does not run under pytest 9.2. Generation is deterministic (no seed, no example
database), so a run sends the same requests on every machine and in CI. The fuzzing phase
tries 4 examples per operation in ``make test`` (3 on PostgreSQL) and 50 (25) in
``make soak``; the examples and coverage phases run in full in both.

The server is one of its own, on its own database (the fuzzer creates and deletes lists and
attributes at random; the other API tests share ``api_server``), seeded with a contact, a
list, an event and attributes of each type so that small ids and known names get past 404.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .api_support import Server, environment, served

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "unsupported_method",  # 405 with Allow for the methods a path does not have
    "ignored_auth",  # 401 without a key, for every operation that declares one
)
# The seeded contact for the operations that read or change one (the others draw any
# identifier, which mostly names nobody: 404).
AT_THE_SEEDED_CONTACT = (
    "GET /v3/contacts/{identifier}",
    "PUT /v3/contacts/{identifier}",
    "GET /api/v1/contacts/{identifier}/runs",
    "GET /api/v1/contacts/{identifier}/timeline",
)
# ... and the seeded workflow (which the seeded event has run for the seeded contact) and its
# draft.
AT_THE_SEEDED_WORKFLOW = (
    "GET /api/v1/workflows/{key}",
    "GET /api/v1/workflows/{key}/runs",
    "GET /api/v1/workflows/{key}/stats",
    "POST /api/v1/workflows/{key}/activate",
    "POST /api/v1/workflows/{key}/pause",
    "POST /api/v1/workflows/{key}/stop",
    "GET /api/v1/workflows/{key}/graph",
    "GET /api/v1/workflows/{key}/steps/{step}/contacts",
    "GET /api/v1/drafts/{key}",
    "GET /api/v1/drafts/{key}/diff",
    "PUT /api/v1/drafts/{key}",
    "POST /api/v1/drafts/{key}/publish",
)
# Operations that answer a refused document or template with 422 and its problems.
REFUSING_DOCUMENTS = {
    ("post", "/api/v1/workflows"),
    ("post", "/api/v1/workflows/validate"),
    ("post", "/api/v1/drafts/{key}/publish"),
    ("post", "/api/v1/preview/email"),
}
# Every operation of the document: minutes, and many more on a machine shared with other work.
FUZZ_SECONDS = 900
EMAIL = "fuzz@example.com"
STEP = ', step = "hello"'
WORKFLOW = {
    "key": "fuzz-welcome",
    "name": "Fuzz welcome",
    "entry_points": [{"event": "seen"}],
    "steps": [
        {
            "id": "hello",
            "send_email": {"subject": "Hi", "html": "<p><a href='https://example.com/'>x</a></p>"},
        }
    ],
}
SEED_DATA = (
    ("/v3/contacts/attributes/normal/AGE", {"type": "float"}),
    ("/v3/contacts/attributes/normal/BIRTHDAY", {"type": "date"}),
    ("/v3/contacts/attributes/normal/VIP", {"type": "boolean"}),
    ("/v3/contacts/attributes/normal/CITY", {"type": "text"}),
    (
        "/v3/contacts/attributes/category/PLAN",
        {"enumeration": [{"value": 1, "label": "free"}, {"value": 2, "label": "pro"}]},
    ),
    ("/v3/contacts/lists", {"name": "Fuzz", "folderId": 1}),
    ("/v3/contacts", {"email": EMAIL, "listIds": [1], "ext_id": "fuzz-1"}),
    ("/api/v1/workflows", WORKFLOW),
    ("/v3/events", {"event_name": "seen", "identifiers": {"email_id": EMAIL}}),
)
DRAFT = {"document": {**WORKFLOW, "name": "Fuzz welcome, edited"}}


def schemathesis_command() -> str:
    beside = Path(sys.executable).parent / "schemathesis"
    found = str(beside) if beside.exists() else shutil.which("schemathesis")
    if found is None:
        pytest.fail("the schemathesis command is not installed (pip install -e '.[dev]')")
    return found


def _seeded(server: Server) -> Server:
    with server.client() as http:
        for path, body in SEED_DATA:
            answer = http.post(path, json=body)
            assert answer.is_success, f"{path}: {answer.status_code} {answer.text}"
        answer = http.put(f"/api/v1/drafts/{WORKFLOW['key']}", json=DRAFT)
        assert answer.is_success, answer.text
    return server


def _run(directory: Path, db_url: str) -> Iterator[Server]:
    with served(directory, db_url) as server:
        yield _seeded(server)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("fuzz")
    yield from _run(directory, f"sqlite:///{directory / 'journeyman.db'}")


@pytest.fixture
def pg_fuzz_server(pg_url: str, tmp_path: Path) -> Iterator[Server]:
    yield from _run(tmp_path, pg_url)


def operations(server: Server) -> set[str]:
    """``METHOD /path`` of every operation the server's document lists."""
    document = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    return {
        f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
    }


def config(server: Server, *, max_examples: int) -> str:
    """schemathesis.toml for a run against ``server``."""
    checks = "\n".join(f"{name}.enabled = true" for name in CHECKS)
    seeded = "".join(
        f'[[operations]]\ninclude-name = "{name}"\nparameters = {{ identifier = "{EMAIL}" }}\n'
        for name in AT_THE_SEEDED_CONTACT
    ) + "".join(
        f'[[operations]]\ninclude-name = "{name}"\nparameters = {{ key = "{WORKFLOW["key"]}"'
        f"{STEP if '{step}' in name else ''} }}\n"
        for name in AT_THE_SEEDED_WORKFLOW
    )
    return f"""\
headers = {{ "api-key" = "{server.key}", "ma-key" = "{server.tracker_key}" }}
workers = 1
request-timeout = 30
# Hypothesis' health checks time data generation: on a loaded CI machine they would fail a
# run that found nothing.
suppress-health-check = ["all"]

[generation]
max-examples = {max_examples}
deterministic = true

[phases]
examples.enabled = true
coverage.enabled = true
fuzzing.enabled = true
stateful.enabled = false

[checks]
enabled = false
{checks}

{seeded}"""


def fuzz(server: Server, directory: Path, *, max_examples: int) -> set[str]:
    """Run schemathesis against ``server``; the operations it tested (it must pass)."""
    settings = directory / "schemathesis.toml"
    settings.write_text(config(server, max_examples=max_examples), encoding="utf-8")
    junit = directory / "schemathesis.xml"
    command = [
        schemathesis_command(),
        *("--config-file", str(settings), "--no-color", "run", f"{server.url}/openapi.json"),
        *("--report", "junit", "--report-junit-path", str(junit)),
    ]
    done = subprocess.run(
        command,
        cwd=directory,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=FUZZ_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"schemathesis found problems:\n{done.stdout}\n{done.stderr}"
    cases = ET.parse(junit).getroot().iter("testcase")
    return {case.attrib["name"] for case in cases}


def test_the_document_declares_the_errors_the_server_answers(fuzz_server: Server) -> None:
    """Request validation errors are 400 with Brevo's body, not FastAPI's 422; only a refused
    workflow document is a 422 (with its problems)."""
    document = httpx.get(f"{fuzz_server.url}/openapi.json", timeout=30).json()
    error_body = {"$ref": "#/components/schemas/ErrorBody"}
    refused_workflow = {"$ref": "#/components/schemas/InvalidWorkflowBody"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            if "422" in responses:
                assert path.startswith("/api/v1/workflows") or (method, path) in (
                    REFUSING_DOCUMENTS
                ), path
                schema = responses["422"]["content"]["application/json"]["schema"]
                assert schema == refused_workflow, path
            else:
                assert (method, path) not in REFUSING_DOCUMENTS
            if "400" in responses:
                assert responses["400"]["content"]["application/json"]["schema"] == error_body
    assert "HTTPValidationError" not in document["components"]["schemas"]
    attribute = document["paths"]["/v3/contacts/attributes/{attributeCategory}/{attributeName}"]
    assert "content" not in attribute["post"]["responses"]["201"]  # created: no body


@pytest.mark.slow
@pytest.mark.timeout(FUZZ_SECONDS + 120)
def test_every_operation_answers_as_documented_without_server_errors_sqlite(
    fuzz_server: Server, tmp_path: Path, soak: bool
) -> None:
    listed = operations(fuzz_server)
    assert {"POST /v3/contacts", "GET /v3/contacts/lists/{listId}", "POST /api/v2/identify"} <= (
        listed
    )
    assert fuzz(fuzz_server, tmp_path, max_examples=50 if soak else 4) == listed


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(FUZZ_SECONDS + 120)
def test_every_operation_answers_as_documented_without_server_errors_postgres(
    pg_fuzz_server: Server, tmp_path: Path, soak: bool
) -> None:
    examples = 25 if soak else 3
    assert fuzz(pg_fuzz_server, tmp_path, max_examples=examples) == operations(pg_fuzz_server)
