"""Helpers of the API tier: ``journeyman serve`` as a subprocess on a free port, httpx clients
against it, and plain SQL reads of its database (fixtures are in conftest.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa

import command
from command import journeyman_command
from journeyman.store import normalize_url

T = TypeVar("T")
START_TIMEOUT = 90.0  # seconds; a loaded CI machine imports slowly


def environment() -> dict[str, str]:
    """The caller's environment without JOURNEYMAN_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYMAN_")}


def cli(cwd: Path, db: str, *args: str, expect: int = 0) -> command.Done:
    """``journeyman --db DB ARGS`` (in this process unless the command needs its own:
    tests/command.py)."""
    done = command.run(["--db", db, *args], cwd=cwd, env=environment(), timeout=120)
    assert done.code == expect, (
        f"journeyman {' '.join(args)} exited {done.code}\n{done.stdout}\n{done.stderr}"
    )
    return done


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A running ``journeyman serve``: its base URL, an admin API key, its database, and a
    tracker key (the browser tracker's ``ma-key``)."""

    url: str
    key: str
    db_url: str
    process: subprocess.Popen[bytes]
    log: Path
    tracker_key: str = ""

    def client(self, **headers: str) -> httpx.Client:
        """A client sending the API key (pass ``**{"api-key": ...}`` to override)."""
        return httpx.Client(base_url=self.url, headers={"api-key": self.key, **headers}, timeout=30)

    def anonymous(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_server(
    cwd: Path,
    db_url: str,
    *,
    env: Mapping[str, str] | None = None,
    public: bool = False,
    options: Sequence[str] = (),
) -> Server:
    """Create an API key with the CLI, start the server, wait until it answers. ``env``: more
    settings (JOURNEYMAN_...); ``public``: JOURNEYMAN_PUBLIC_URL is the server's own address
    (tracked links and unsubscribe pages point at it); ``options``: more ``serve`` options."""
    key = cli(cwd, db_url, "apikey", "create", "tests").stdout.strip().splitlines()[-1]
    tracker = cli(cwd, db_url, "apikey", "create", "tests-tracker", "--scope", "tracker")
    port = free_port()
    log = cwd / f"server-{port}.log"
    settings = {**environment(), **(env or {})}
    if public:
        settings["JOURNEYMAN_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [journeyman_command(), "--db", db_url, "serve", "--port", str(port), *options],
            cwd=cwd,
            env=settings,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", key, db_url, process, log)
    server.tracker_key = tracker.stdout.strip().splitlines()[-1]
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"journeyman serve exited {process.returncode}:\n{server.log_text()}")
        try:
            if httpx.get(f"{server.url}/openapi.json", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop_server(server)
    pytest.fail(f"journeyman serve did not answer within {START_TIMEOUT} s:\n{server.log_text()}")


@contextmanager
def served(directory: Path, db_url: str, *, public: bool = False) -> Iterator[Server]:
    """A server for the block; stopped with SIGTERM afterwards, which must exit 0 with no
    traceback in its log (the engine stopped cleanly)."""
    server = start_server(directory, db_url, public=public)
    try:
        yield server
    finally:
        code = stop_server(server)
        log = server.log_text()
        assert code == 0, f"journeyman serve exited {code} on SIGTERM:\n{log}"
        assert "Traceback" not in log, log


def stop_server(server: Server) -> int:
    """SIGTERM, then wait; the exit code (0: a clean stop)."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    return int(server.process.returncode)


def wait_for(probe: Callable[[], T | None], *, timeout: float = 30.0, what: str = "") -> T:
    """Call ``probe`` until it returns something (not None); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or probe}")
        time.sleep(0.1)


class Reader:
    """Plain SQL reads of the server's database, without taking its write lock."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(normalize_url(url), poolclass=sa.pool.NullPool)

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql), params)]

    def value(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(sa.text(sql), params).scalar_one()

    def close(self) -> None:
        self.engine.dispose()
