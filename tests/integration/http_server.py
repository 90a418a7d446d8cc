"""A real HTTP server on loopback for transport tests: records every request and answers from
a script.

    with HttpServer() as server:
        server.reply(Reply(status=503), Reply(status=201, json={"sid": "SM1"}))  # in turn
        server.answer = lambda request: Reply(json={"echo": request.json()})   # afterwards
        ... call server.url("/path") ...
        server.requests  # RecordedRequest, in arrival order

A ``ThreadingHTTPServer`` on 127.0.0.1, port chosen by the OS, HTTP/1.1 with keep-alive (HTTPS
when given a server TLS context). A
reply's ``delay`` is slept in the handler thread after the request is recorded; stopping the
server cuts every delay short.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl


@dataclass(frozen=True, kw_only=True)
class Reply:
    """One scripted answer: ``json`` is serialized unless ``body`` is given."""

    status: int = 200
    json: Any = None
    body: bytes | str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.body is not None:
            body = self.body.encode() if isinstance(self.body, str) else self.body
        elif self.json is not None:
            body = json.dumps(self.json).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            body = b""
        return body, headers


@dataclass(frozen=True, kw_only=True)
class RecordedRequest:
    """A request as the server received it; header names are lower-cased."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    peer: tuple[str, int]

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True, strict_parsing=True))


class HttpServer:
    """The server; ``answer`` (a function of the request) answers once the ``reply`` queue is
    empty. ``max_in_flight`` is the most requests handled at the same time."""

    def __init__(
        self,
        answer: Callable[[RecordedRequest], Reply] | None = None,
        *,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.answer: Callable[[RecordedRequest], Reply] = answer or (lambda _: Reply())
        self.requests: list[RecordedRequest] = []
        self.max_in_flight = 0
        self._queue: deque[Reply] = deque()
        self._in_flight = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self.scheme = "http" if tls is None else "https"
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def reply(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, one each, in order."""
        with self._lock:
            self._queue.extend(replies)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _handle(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            scripted = self._queue.popleft() if self._queue else None
        try:
            reply = scripted or self.answer(request)
            if reply.delay:
                self._stopping.wait(reply.delay)
            return reply
        finally:
            with self._lock:
                self._in_flight -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops simultaneous connects (a 1 s SYN retry)


def _handler_for(server: HttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 5  # idle keep-alive connections end after this

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = RecordedRequest(
                method=self.command,
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=self.rfile.read(length),
                peer=(self.client_address[0], self.client_address[1]),
            )
            reply = server._handle(request)
            body, headers = reply.encoded()
            self.send_response_only(reply.status)
            if "date" not in {name.lower() for name in headers}:
                self.send_header("Date", self.date_time_string())
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return None  # keep test output clean

        def handle(self) -> None:
            # The client gave up (a timeout test) or went away.
            with contextlib.suppress(ConnectionError, TimeoutError):
                super().handle()

    return Handler
