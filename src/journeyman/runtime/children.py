"""The one way Journeyman starts a process of its own: a fresh interpreter that dies with its
parent. ``serve``'s engine and ``run --workers``' shards are both started here.

A child is ``python -c LAUNCHER PARENT_PID IN OUT``. Its first instruction, before anything
of Journeyman is imported (about 2 s, during which the parent may die), arms Linux's
parent-death signal, SIGTERM: what a service manager sends too, so a child that handles it
(``serve``'s engine) stops cleanly and one that does not (a shard) dies at once. Its second
checks that its parent is still the process that started it (a parent that died before the
signal was armed would never send it), else it exits with ``ORPHANED``.

What the child runs comes down the pipe IN as a value: a function and its arguments (the
``Settings`` among them), pickled. Nothing is re-serialised into environment variables or the
command line (where ``ps`` shows it to every user). The same pipe then carries wake-ups, a
byte each, and its end of file tells the child that its parent is gone on any system. The
pipe OUT carries back a byte when the child says it is ready (``serve`` answers only once its
engine runs), then the function's return value, pickled; its end of file tells the parent
that the child ended, as ``multiprocessing``'s sentinel does: a dead child is noticed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import pickle
import signal
import struct
import subprocess
import sys
from collections.abc import Callable
from typing import Concatenate, Generic, ParamSpec, TypeVar, cast

ORPHANED = 3  # a child's exit status when its parent was gone before it could watch it

# prctl(1, SIGTERM) is PR_SET_PDEATHSIG.
LAUNCHER = f"""\
import ctypes, os, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, {signal.SIGTERM.value})
except (OSError, AttributeError):
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit({ORPHANED})
from journeyman.runtime.children import main
main(sys.argv[1:])
"""

_LENGTH = struct.Struct("!Q")  # before the pickled payload on IN
READY = b"\0"  # on OUT; a pickle never starts with it (its first opcode is PROTO, 0x80)
P = ParamSpec("P")
R = TypeVar("R")


class Parent:
    """A child's side of the link: the parent's wake-ups, and whether the parent is gone."""

    def __init__(self, pid: int, fd: int, out: int) -> None:
        self.pid = pid
        self._fd = fd
        self._out = out

    def ready(self) -> None:
        """Tell the parent that the child is ready (:meth:`Child.ready`)."""
        os.write(self._out, READY)

    def gone(self) -> bool:
        """The parent ended (the child was handed to another process)."""
        return os.getppid() != self.pid

    def watch(self, on_wake: Callable[[], None], on_gone: Callable[[], None]) -> None:
        """In the running event loop: ``on_wake`` for each burst of wake-ups, ``on_gone`` once,
        at the end of file (the parent ended, even killed with SIGKILL)."""
        loop = asyncio.get_running_loop()
        os.set_blocking(self._fd, False)

        def readable() -> None:
            try:
                data = os.read(self._fd, 4096)
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    return
                data = b""
            if data:
                on_wake()
                return
            loop.remove_reader(self._fd)
            on_gone()

        loop.add_reader(self._fd, readable)

    def unwatch(self) -> None:
        asyncio.get_running_loop().remove_reader(self._fd)


class Child(Generic[R]):
    """A child process running ``target(parent, *args, **kwargs)``, started by :meth:`start`."""

    def __init__(self, process: subprocess.Popen[bytes], to_child: int, from_child: int) -> None:
        self._process = process
        self._to_child = to_child
        self._from_child = from_child
        self._output = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready: asyncio.Future[bool] | None = None
        self._ended: asyncio.Future[None] | None = None

    @classmethod
    def start(
        cls, target: Callable[Concatenate[Parent, P], R], /, *args: P.args, **kwargs: P.kwargs
    ) -> Child[R]:
        """Start a child running ``target`` (a module-level function: it is pickled by name).

        Start it from a thread that lives as long as the child should: the parent-death
        signal follows the thread that started the child, not its process."""
        payload = pickle.dumps((target, args, kwargs))
        read_in, write_in = os.pipe()
        read_out, write_out = os.pipe()
        try:
            argv = [sys.executable, "-c", LAUNCHER, str(os.getpid()), str(read_in), str(write_out)]
            process = subprocess.Popen(argv, pass_fds=(read_in, write_out))
        except BaseException:
            for fd in (read_in, write_in, read_out, write_out):
                os.close(fd)
            raise
        os.close(read_in)
        os.close(write_out)
        child = cls(process, write_in, read_out)
        with contextlib.suppress(BrokenPipeError):  # it ended already: its end tells so
            _write_all(write_in, _LENGTH.pack(len(payload)) + payload)
        os.set_blocking(write_in, False)
        return child

    @property
    def pid(self) -> int:
        return self._process.pid

    def wake(self) -> None:
        """One byte down IN, without blocking."""
        try:
            os.write(self._to_child, b"\0")
        except BlockingIOError:
            pass  # the pipe is full: the child has wake-ups it has not read yet
        except BrokenPipeError:
            pass  # the child is gone: whoever waits for it hears so

    def send(self, sig: signal.Signals) -> None:
        """Send ``sig`` unless the child has ended."""
        if self._process.poll() is None:
            self._process.send_signal(sig)

    async def ready(self) -> bool:
        """True once the child said it is ready (:meth:`Parent.ready`), False if it ended
        first."""
        ready, _ = self._watch()
        return await asyncio.shield(ready)

    async def wait(self) -> int:
        """The exit status, once the child has ended (noticed by OUT's end of file)."""
        _, ended = self._watch()
        await asyncio.shield(ended)
        return await asyncio.to_thread(self._process.wait)

    def _watch(self) -> tuple[asyncio.Future[bool], asyncio.Future[None]]:
        """OUT read in the running event loop from the first call on."""
        if self._ready is None or self._ended is None:
            self._loop = asyncio.get_running_loop()
            self._ready, self._ended = self._loop.create_future(), self._loop.create_future()
            self._loop.add_reader(self._from_child, self._read)
        return self._ready, self._ended

    def _read(self) -> None:
        assert self._loop is not None and self._ready is not None and self._ended is not None
        data = os.read(self._from_child, 65536)
        self._output += data
        if not self._ready.done() and (self._output[:1] == READY or not data):
            self._ready.set_result(bool(data))
        if not data:
            self._loop.remove_reader(self._from_child)
            self._ended.set_result(None)

    def result(self) -> R:
        """What ``target`` returned (after :meth:`wait` returned 0)."""
        output = self._output.removeprefix(READY)
        return cast(R, pickle.loads(bytes(output)))

    def stop(self, sig: signal.Signals) -> int:
        """Send ``sig`` unless the child has ended, wait for it (blocking), close the pipes."""
        self.send(sig)
        status = self._process.wait()
        if self._loop is not None and self._ended is not None and not self._ended.done():
            with contextlib.suppress(RuntimeError):  # the event loop is closed already
                self._loop.remove_reader(self._from_child)
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        return status


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise SystemExit(ORPHANED)  # the parent ended before it handed the payload over
        data += chunk
    return bytes(data)


def main(argv: list[str]) -> None:
    """The child's side of ``LAUNCHER``: ``PARENT_PID IN OUT``."""
    parent_pid, read_in, write_out = (int(arg) for arg in argv)
    (size,) = _LENGTH.unpack(_read_exactly(read_in, _LENGTH.size))
    target, args, kwargs = pickle.loads(_read_exactly(read_in, size))
    result = target(Parent(parent_pid, read_in, write_out), *args, **kwargs)
    with os.fdopen(write_out, "wb") as out:
        pickle.dump(result, out)
