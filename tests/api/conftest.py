"""API tier: ``journeyman serve`` run as a subprocess, spoken to over real HTTP.

``api_server`` is one server for the whole tier on a fresh SQLite file (starting one costs a
few seconds; every test uses its own emails, list and attribute names, so they do not meet).
``pg_api_server`` is a server per test on a brand-new PostgreSQL database (``pg_url``).
``public_api_server`` and ``pg_public_api_server`` are the same with JOURNEYMAN_PUBLIC_URL
set to the server's own address (email tracking and unsubscribe pages).
Each server is stopped with SIGTERM and must exit 0 (the engine stopped cleanly).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .api_support import Reader, Server, served


def _run(directory: Path, db_url: str, *, public: bool = False) -> Iterator[Server]:
    with served(directory, db_url, public=public) as server:
        yield server


@pytest.fixture(scope="package")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("api")
    yield from _run(directory, f"sqlite:///{directory / 'journeyman.db'}")


@pytest.fixture
def pg_api_server(pg_url: str, tmp_path: Path) -> Iterator[Server]:
    yield from _run(tmp_path, pg_url)


@pytest.fixture(scope="package")
def public_api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose JOURNEYMAN_PUBLIC_URL is itself: emails are tracked through it."""
    directory = tmp_path_factory.mktemp("api-public")
    yield from _run(directory, f"sqlite:///{directory / 'journeyman.db'}", public=True)


@pytest.fixture
def pg_public_api_server(pg_url: str, tmp_path: Path) -> Iterator[Server]:
    yield from _run(tmp_path, pg_url, public=True)


@pytest.fixture
def client(api_server: Server) -> Iterator[httpx.Client]:
    with api_server.client() as http:
        yield http


@pytest.fixture
def reader(api_server: Server) -> Iterator[Reader]:
    found = Reader(api_server.db_url)
    try:
        yield found
    finally:
        found.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_server(request: pytest.FixtureRequest) -> Server:
    """``api_server`` (SQLite), then ``pg_api_server``: for what one database takes and the
    other refuses (NUL characters, INTEGER ranges, empty arrays)."""
    name = "api_server" if request.param == "sqlite" else "pg_api_server"
    found: Server = request.getfixturevalue(name)
    return found
