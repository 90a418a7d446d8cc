"""Acceptance tier: the ``journeyman`` command run as a subprocess, the way a user runs it.

Fixtures are named ``cli_*`` so they never clash with the shared ``tests/conftest.py`` (whose
``pg_url`` gives the brand-new PostgreSQL databases); helpers live in ``cli_support.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from loopback import EphemeralController

from .cli_support import (
    Cli,
    CountingHandler,
    SmtpServer,
    run_cli,
)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """``cli(*args, db=URL, expect=0, **env)`` runs the command in a temporary directory."""
    return partial(run_cli, tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cli_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database the CLI has never seen: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'journeyman.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def cli_smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server on 127.0.0.1 (port chosen by the OS) that counts what arrives."""
    handler = CountingHandler()
    controller = EphemeralController(handler, hostname="127.0.0.1", server_hostname="mx.test")
    controller.start()
    try:
        yield SmtpServer(handler, controller.port)
    finally:
        controller.stop()
