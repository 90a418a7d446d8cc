"""The ``journeyman`` command, run as a user runs it: in this test process by default, or as a
process of its own where the process matters.

In this process, a command runs the same entry point as the console script
(``journeyman.cli:main``) with its own argument list, working directory, environment, empty
standard input and captured standard output and error, and answers its exit code as the
process would (an exception that escapes ``main`` prints its traceback and exits 1). It saves
the interpreter's start and imports, about two seconds a command on this machine, which the
suite pays hundreds of times. Commands that start processes or run until stopped (``serve``,
``worker``, ``--workers``) always run as processes, and so do the crash tests, which start
the command with ``subprocess`` themselves. ``JOURNEYMAN_TEST_CLI=process`` runs every
command as a process.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Commands whose process is part of what is tested: they fork, serve or run until a signal.
PROCESS_COMMANDS = frozenset({"serve", "worker"})
PROCESS_OPTIONS = ("--workers",)


@dataclass(frozen=True)
class Done:
    code: int
    stdout: str
    stderr: str


def journeyman_command() -> str:
    """The installed console script: next to this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "journeyman"
    if beside.exists():
        return str(beside)
    found = shutil.which("journeyman")
    if found is None:
        raise RuntimeError("the journeyman command is not installed (pip install -e .)")
    return found


def needs_a_process(args: Sequence[str]) -> bool:
    if os.environ.get("JOURNEYMAN_TEST_CLI", "") == "process":
        return True
    if any(arg in PROCESS_COMMANDS for arg in args):
        return True
    return any(arg.startswith(PROCESS_OPTIONS) for arg in args)


def run(args: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float) -> Done:
    """``journeyman ARGS`` in ``cwd`` with exactly the environment ``env``."""
    if needs_a_process(args):
        done = subprocess.run(
            [journeyman_command(), *args],
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Done(done.returncode, done.stdout, done.stderr)
    return _in_this_process(args, cwd=cwd, env=env)


def _in_this_process(args: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> Done:
    from journeyman import cli

    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    with (
        _environment(env),
        contextlib.chdir(cwd),
        _argv(["journeyman", *args]),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
        _stdin(io.StringIO("")),
        _sized_by_the_environment(cli.out, cli.err),
    ):
        try:
            cli.main()
        except SystemExit as exit_:
            code = _exit_code(exit_.code, stderr)
        except Exception:  # as the interpreter does with an uncaught exception
            traceback.print_exc(file=stderr)
            code = 1
    return Done(code, stdout.getvalue(), stderr.getvalue())


def _exit_code(code: object, stderr: io.StringIO) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=stderr)  # sys.exit("message"): printed, exit status 1
    return 1


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _sized_by_the_environment(*consoles: Any) -> Iterator[None]:
    """A process's consoles take their size from COLUMNS and LINES as they are created; these
    were created once, in an environment of their own (pytest-xdist's workers set both), so
    for the command they read the command's environment (rich does when no size is fixed)."""
    saved = [(console, console._width, console._height) for console in consoles]
    for console, _width, _height in saved:
        console._width = console._height = None
    try:
        yield
    finally:
        for console, width, height in saved:
            console._width, console._height = width, height


@contextlib.contextmanager
def _argv(argv: list[str]) -> Iterator[None]:
    saved, sys.argv = sys.argv, argv
    try:
        yield
    finally:
        sys.argv = saved


@contextlib.contextmanager
def _stdin(stream: io.StringIO) -> Iterator[None]:
    saved, sys.stdin = sys.stdin, stream
    try:
        yield
    finally:
        sys.stdin = saved
