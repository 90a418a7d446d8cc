"""The load generator of the ingestion benchmark: client processes speaking HTTP/1.1 over
keep-alive connections, written on asyncio streams rather than an HTTP library so that the
client costs little CPU next to the server it measures (the machine has 2 cores, shared).

Each process opens ``connections`` connections and runs one request loop per connection
between a common start and end time (wall clock, so processes agree), or paces its requests
at a fixed rate (``rate``: the latency phase). It reports what it did and the CPU it used.
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson


@dataclass(frozen=True, kw_only=True)
class Load:
    """What one client process does."""

    host: str
    port: int
    key: str
    kind: str  # "floor" (GET the cheapest authenticated endpoint), "single" or "batch"
    tag: str  # makes the contacts' emails unique to this process
    connections: int
    start_at: float  # time.time()
    end_at: float
    event_name: str = "bench_signup"
    batch_size: int = 500
    rate: float = 0.0  # requests/s for the whole process; 0: as fast as the server answers


@dataclass(kw_only=True)
class Done:
    requests: int = 0  # answered within [start_at, end_at]
    events: int = 0  # events in those requests
    accepted: int = 0  # events answered 204/202, counting those answered after end_at
    statuses: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    rtt_ms: list[float] = field(default_factory=list)  # a sample of round-trip times
    cpu_seconds: float = 0.0


def run_processes(loads: list[Load]) -> list[Done]:
    """Each load in its own process (spawned, so it shares nothing with this one)."""
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[str] = context.Queue()
    processes = [context.Process(target=_child, args=(load, results)) for load in loads]
    for process in processes:
        process.start()
    done = [Done(**json.loads(results.get(timeout=600))) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    return done


def _child(load: Load, results: multiprocessing.Queue[str]) -> None:
    cpu = time.process_time()
    try:
        done = asyncio.run(_run(load))
    except Exception as exc:  # reported to the parent, which fails the run
        done = Done(errors=[f"{type(exc).__name__}: {exc}"])
    done.cpu_seconds = time.process_time() - cpu
    results.put(json.dumps(asdict(done)))


async def _run(load: Load) -> Done:
    done = Done()
    streams = [await asyncio.open_connection(load.host, load.port) for _ in range(load.connections)]
    await asyncio.sleep(max(0.0, load.start_at - time.time()))
    await asyncio.gather(*(_loop(load, i, r, w, done) for i, (r, w) in enumerate(streams)))
    for _, writer in streams:
        writer.close()
    return done


async def _loop(
    load: Load, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, done: Done
) -> None:
    sequence = 0
    interval = load.connections / load.rate if load.rate else 0.0
    next_at = load.start_at + index * (interval / max(load.connections, 1))
    while (now := time.time()) < load.end_at:
        if interval:
            if next_at > now:
                await asyncio.sleep(next_at - now)
            next_at += interval
        request, events = _request(load, f"{load.tag}-{index}-{sequence}")
        sequence += 1
        sent = time.perf_counter()
        writer.write(request)
        status, body = await _response(reader)
        finished = time.time()
        done.statuses[str(status)] = done.statuses.get(str(status), 0) + 1
        if status in (200, 202, 204):
            done.accepted += events
        elif len(done.errors) < 5:
            done.errors.append(f"{status}: {body[:300].decode(errors='replace')}")
        if finished <= load.end_at:
            done.requests += 1
            done.events += events
            if sequence % 8 == 1 or interval:
                done.rtt_ms.append(round((time.perf_counter() - sent) * 1000, 3))


def _request(load: Load, unique: str) -> tuple[bytes, int]:
    head = f"Host: {load.host}:{load.port}\r\napi-key: {load.key}\r\n"
    if load.kind == "floor":
        return f"GET /v3/contacts/attributes HTTP/1.1\r\n{head}\r\n".encode(), 0
    if load.kind == "single":
        path, body, count = "/v3/events", _event(load, unique), 1
    else:
        events = [_event(load, f"{unique}-{n}") for n in range(load.batch_size)]
        path, body, count = "/v3/events/batch", {"events": events}, load.batch_size
    payload = orjson.dumps(body)
    return (
        f"POST {path} HTTP/1.1\r\n{head}content-type: application/json\r\n"
        f"content-length: {len(payload)}\r\n\r\n"
    ).encode() + payload, count


def _event(load: Load, unique: str) -> dict[str, Any]:
    return {
        "event_name": load.event_name,
        "identifiers": {"email_id": f"{unique}@bench.example"},
        "event_properties": {"sent": time.time(), "plan": "trial"},
    }


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


def percentile(values: list[float], q: float) -> float | None:
    """Nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]
