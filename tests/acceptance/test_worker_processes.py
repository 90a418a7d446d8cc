"""``journeyman run --workers N`` as processes: a child never outlives its parent (SIGKILL
included, even right after the start, while the child is still importing), and a child that
dies is noticed at once by the parent, which releases what the child held and stops with a
one-line error."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from journeyman.app import App
from journeyman.config import Settings
from journeyman.demo import load_demo_data

from .cli_support import Reader, clean_environment, command_line


def state(pid: int) -> str | None:
    """The process's state letter (``Z``: a zombie, dead), or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def alive(pid: int) -> bool:
    return state(pid) not in (None, "Z")


def children_of(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append(int(entry))
    return found


def wait_for(condition: object, what: str, seconds: float = 60) -> None:
    assert callable(condition)
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s")
        time.sleep(0.005)


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[int]]:
    """Pids of processes a test started; those still alive are killed afterwards."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def start(url: str, tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    with (tmp_path / "out.log").open("wb") as out, (tmp_path / "err.log").open("wb") as err:
        return subprocess.Popen(
            command_line("run", *args, db=url),
            cwd=tmp_path,
            env=clean_environment(),
            stdout=out,
            stderr=err,
        )


def test_children_die_with_a_parent_killed_right_after_starting_them(
    cli_db_url: str, tmp_path: Path, started: list[int]
) -> None:
    App.open(Settings(database_url=cli_db_url)).close()  # migrated
    parent = start(cli_db_url, tmp_path, "--workers", "3")
    started.append(parent.pid)
    wait_for(lambda: len(children_of(parent.pid)) == 2, "the two children started")
    children = children_of(parent.pid)
    started.extend(children)
    parent.send_signal(signal.SIGKILL)  # the children are still importing
    assert parent.wait(timeout=30) == -signal.SIGKILL
    killed = time.monotonic()

    wait_for(lambda: not any(alive(c) for c in children), "the children died", seconds=10)
    print(f"children gone {time.monotonic() - killed:.2f} s after their parent")


def test_a_killed_child_is_reported_at_once_and_what_it_held_is_released(
    cli_db_url: str, tmp_path: Path, started: list[int]
) -> None:
    app = App.open(Settings(database_url=cli_db_url))
    try:
        load_demo_data(app, 3_000)
    finally:
        app.close()
    parent = start(cli_db_url, tmp_path, "--workers", "2", "--batch-size", "100")
    started.append(parent.pid)
    wait_for(lambda: len(children_of(parent.pid)) == 1, "the child started")
    (child,) = children_of(parent.pid)
    started.append(child)
    held = f"{socket.gethostname()[:30]}:{child}:%"
    holding = "SELECT id FROM runs WHERE claim LIKE :held"
    reader = Reader(cli_db_url)
    try:
        wait_for(lambda: reader.rows(holding, held=held), "the child held runs")
        os.kill(child, signal.SIGKILL)
        killed = time.monotonic()
        code = parent.wait(timeout=30)
        noticed = time.monotonic() - killed
        still_held = reader.rows(holding, held=held)
    finally:
        reader.close()

    errors = (tmp_path / "err.log").read_text().strip().splitlines()
    print(f"the parent stopped {noticed:.2f} s after the kill: {errors}")
    assert code == 1
    assert len(errors) == 1, "one line, no traceback"
    assert errors[0].startswith(f"error: engine worker 1 (pid {child}) was killed by SIGKILL; ")
    assert "runs and messages it held are due again" in errors[0]
    assert still_held == [], "the child's runs are free at once, not when their lease ends"
    assert noticed < 5, f"noticed {noticed:.2f} s after the kill"
