"""Helpers of the acceptance tier: running the command, reading the store with plain SQL,
and a counting SMTP server on loopback. Fixtures are in conftest.py."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

import command
from command import journeyman_command
from journeyman.store import normalize_url

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "first-purchase-coupon.yaml"

# --- the command --------------------------------------------------------------------------


def clean_environment(**extra: str) -> dict[str, str]:
    """The caller's environment without JOURNEYMAN_* settings, wide enough for rich tables."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYMAN_")}
    environment.update(COLUMNS="250", NO_COLOR="1", TERM="dumb")
    environment.update(extra)
    return environment


def command_line(*args: str, db: str | None = None) -> list[str]:
    return [journeyman_command(), *(["--db", db] if db else []), *args]


def start_logged(
    args: Sequence[str], *, db: str, cwd: Path, name: str, **env: str
) -> subprocess.Popen[bytes]:
    """``journeyman ARGS`` in the background, its output in ``cwd/NAME.log``."""
    with (cwd / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            command_line(*args, db=db),
            cwd=cwd,
            env=clean_environment(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def logged(cwd: Path, name: str) -> str:
    """What the process started as NAME printed."""
    return (cwd / f"{name}.log").read_text(errors="replace")


def kill_when(
    process: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    cwd: Path,
    name: str,
    *,
    within: float = 120,
    poll: float = 0.01,
) -> None:
    """SIGKILL the process as soon as ``ready()``; fail if it ends on its own first, or if
    ``ready()`` is still false after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not ready():
        if process.poll() is not None:
            output = logged(cwd, name)
            pytest.fail(f"the run ended (exit {process.returncode}) before the kill:\n{output}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the run was not ready to be killed after {within} s")
        time.sleep(poll)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def out(self) -> str:
        """stdout with whitespace collapsed, so wrapped table cells still match."""
        return " ".join(self.stdout.split())

    @property
    def err(self) -> str:
        return " ".join(self.stderr.split())


Cli = Callable[..., Result]


def run_cli(
    cwd: Path, *args: str, db: str | None = None, expect: int | None = 0, **env: str
) -> Result:
    """Run ``journeyman [--db DB] ARGS`` (in this process unless the command needs its own:
    tests/command.py); ``expect`` is the exit code (None: any)."""
    done = command.run(
        command_line(*args, db=db)[1:], cwd=cwd, env=clean_environment(**env), timeout=180
    )
    result = Result(done.code, done.stdout, done.stderr)
    if expect is not None:
        assert result.code == expect, (
            f"journeyman {' '.join(args)} exited {result.code}, expected {expect}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


# --- databases ----------------------------------------------------------------------------


class Reader:
    """Plain SQL reads of a Journeyman database, without the app's write-lock habits (the
    SQLite engine of the app begins every transaction IMMEDIATE), so polling never blocks
    the process under test."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(normalize_url(url), poolclass=sa.pool.NullPool)

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql), params)]

    def value(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(sa.text(sql), params).scalar_one()

    def close(self) -> None:
        self.engine.dispose()


# --- an SMTP server on loopback -----------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    recipients: tuple[str, ...]
    message_id: str


@dataclass
class CountingHandler:
    """Accepts every message; keeps the recipients and the Message-ID of each (headers only,
    so the server keeps up with the dispatcher)."""

    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        headers = BytesHeaderParser(policy=default_policy).parsebytes(envelope.content)
        with self.lock:
            self.arrivals.append(Arrival(tuple(envelope.rcpt_tos), str(headers["Message-ID"])))
        return "250 OK"

    def snapshot(self) -> Sequence[Arrival]:
        with self.lock:
            return list(self.arrivals)

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


@dataclass(frozen=True)
class SmtpServer:
    handler: CountingHandler
    port: int

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=10"


# --- an HTTP server on loopback -----------------------------------------------------------


def http_server_module() -> ModuleType:
    """tests/integration/http_server.py (not on sys.path when only this tier runs)."""
    name = "journeyman_tests_http_server"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "integration" / "http_server.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
