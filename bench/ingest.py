"""The ingestion benchmark: events through the HTTP API of a running ``journeyman serve``.

``python -m bench.ingest --backend sqlite [--seconds 10] [--json]``

A fresh database holds one workflow (event ``bench_signup`` -> send an email) and an API
key; ``journeyman serve`` runs on it as a subprocess on loopback, with the engine and the
capture transport (in its engine child process: the server's CPU counts the child's). Client
processes (``bench.load``) then run, one phase after the other:

- ``floor``: ``GET /v3/contacts/attributes``, the cheapest authenticated endpoint: what the
  server and the client manage per request with nothing stored (the HTTP floor);
- ``latency``: single events at a modest fixed rate; for each, the time from the client
  sending it to its workflow's email in the outbox (``messages.created_at``), p50 and p99;
- ``single``: ``POST /v3/events``, one event per request, as fast as answered;
- ``batch``: ``POST /v3/events/batch``, 500 events per request.

Every event is for a new contact and starts the workflow, so the engine works while the
events arrive. At the end the engine must have sent one email per accepted event, and every
accepted event must be stored exactly once. Beside the server, the same events go through
``App.record_events`` in this process on a database of their own, one event per transaction
and 500 per transaction: the store's own rate, which the HTTP figures are divided by.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench import DEFAULT_POSTGRES_URL, child, quiet
from bench.load import Done, Load, percentile, run_processes
from bench.worker import fresh_database
from journeyman.app import App
from journeyman.config import Settings
from journeyman.services.events import EventInput
from journeyman.store import read_transaction, transaction
from journeyman.store.apikeys import create_key_txn
from journeyman.store.schema import events, messages

ROOT = child.ROOT
EVENT = "bench_signup"
LATENCY_EVENT = "bench_latency"  # the latency phase's, so that its events are found apart
WORKFLOW = {
    "key": "ingest-bench",
    "name": "Ingestion benchmark",
    "entry_points": [{"event": EVENT}, {"event": LATENCY_EVENT}],
    "steps": [
        {
            "id": "welcome",
            "send_email": {
                "from": "Bench <bench@example.com>",
                "subject": "Welcome",
                "html": "<p>Welcome on the {{ event.properties.plan }} plan.</p>",
            },
        }
    ],
}
TARGETS = {"single": 2_000, "batch": 20_000}  # events/s, the issue's
BATCH_SIZE = 500
LATENCY_RATE = 100.0  # events/s during the latency phase
PHASES = ("floor", "latency", "single", "batch")
DEFAULT_SECONDS = 10.0  # per phase: four phases, server start and drain, about a minute
FULL_SECONDS = 30.0
START_TIMEOUT = 90.0
DRAIN_TIMEOUT = 600.0
STEADY_WAIT = 1.0  # seconds between the client processes' start and the phase's start


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    result: dict[str, Any] = {"backend": args.backend, "workload": "ingest"}
    with fresh_database(args.backend, args.postgres_url) as url:
        result["settled"] = quiet.settle(args.postgres_url)
        result["in_process"] = in_process(url, args.inprocess_events)
    with fresh_database(args.backend, args.postgres_url) as url:
        settled = quiet.settle(args.postgres_url)
        result.update(against_server(url, args))
    result["settled"] = [result["settled"], settled]
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    result["ok"] = bool(result.get("ok"))
    sys.stdout.write((json.dumps(result) if args.json else one_line(result)) + "\n")
    return 0 if result["ok"] else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--seconds",
        type=float,
        default=DEFAULT_SECONDS,
        help=f"per phase (default {DEFAULT_SECONDS:g})",
    )
    parser.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    parser.add_argument(
        "--connections", type=int, default=32, help="per client process, single events"
    )
    parser.add_argument(
        "--batch-connections", type=int, default=2, help="per client process, batches"
    )
    parser.add_argument(
        "--phases",
        type=lambda text: [p.strip() for p in text.split(",") if p.strip()],
        default=list(PHASES),
        help=f"comma-separated, of {','.join(PHASES)} (default all; for profiling)",
    )
    parser.add_argument("--inprocess-events", type=int, default=2_000)
    parser.add_argument("--full", action="store_true", help=f"{FULL_SECONDS:g} s per phase")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args(argv)
    if args.full:
        args.seconds = max(args.seconds, FULL_SECONDS)
    if args.seconds <= 0 or args.clients < 1 or args.connections < 1:
        parser.error("--seconds, --clients and --connections must be positive")
    return args


def in_process(url: str, count: int) -> dict[str, Any]:
    """``App.record_events`` without HTTP: one event per call, then BATCH_SIZE per call."""
    app = App.open(Settings(database_url=url))
    try:
        app.apply_workflow(WORKFLOW)
        began = time.perf_counter()
        for n in range(count):
            app.record_events([_event_input(f"one-{n}")])
        single = count / (time.perf_counter() - began)
        began = time.perf_counter()
        for start in range(0, count * 10, BATCH_SIZE):
            app.record_events([_event_input(f"many-{start + n}") for n in range(BATCH_SIZE)])
        batched = count * 10 / (time.perf_counter() - began)
    finally:
        app.close()
    return {"single_per_second": round(single, 1), "batch_per_second": round(batched, 1)}


def _event_input(unique: str) -> EventInput:
    return EventInput(
        name=EVENT,
        email=f"{unique}@bench.example",
        properties={"sent": time.time(), "plan": "trial"},
        source="api",
    )


def against_server(url: str, args: argparse.Namespace) -> dict[str, Any]:
    app = App.open(Settings(database_url=url))
    try:
        app.apply_workflow(WORKFLOW)
        with transaction(app.engine) as connection:
            key = create_key_txn(connection, "bench", app.clock.now()).key
        with running_server(url) as (port, process):
            phases = run_phases(args, port, key, process.pid)
            drained = drain(app, phases, process)
        latency = measure_latency(app)
    finally:
        app.close()
    accepted = sum(p.get("accepted", 0) for p in phases.values() if isinstance(p, dict))
    ok = (
        drained["emails"] == accepted
        and drained["stored"] == accepted
        and drained["server_exit"] == 0
        and all(not p.get("errors") for p in phases.values() if isinstance(p, dict))
        and (latency["count"] > 0 or "latency" not in args.phases)
    )
    return {**phases, "latency": latency, **drained, "accepted": accepted, "ok": ok}


def run_phases(args: argparse.Namespace, port: int, key: str, pid: int) -> dict[str, Any]:
    seconds = args.seconds

    def phase(kind: str, connections: int, rate: float = 0.0, clients: int = 0) -> dict[str, Any]:
        start_at = time.time() + STEADY_WAIT + 1.0  # spawned processes take a moment to start
        loads = [
            Load(
                host="127.0.0.1",
                port=port,
                key=key,
                kind="batch" if kind == "batch" else ("floor" if kind == "floor" else "single"),
                tag=f"{kind}{p}",
                connections=connections,
                start_at=start_at,
                end_at=start_at + seconds,
                event_name=LATENCY_EVENT if kind == "latency" else EVENT,
                batch_size=BATCH_SIZE,
                rate=rate,
            )
            for p in range(clients or args.clients)
        ]
        cpu_before = _cpu_seconds(pid)
        done = run_processes(loads)
        return summarize(kind, done, seconds, _cpu_seconds(pid) - cpu_before)

    plans: dict[str, Callable[[], dict[str, Any]]] = {
        "floor": lambda: phase("floor", args.connections),
        "latency": lambda: phase("latency", 4, rate=LATENCY_RATE, clients=1),
        "single": lambda: phase("single", args.connections),
        "batch": lambda: phase("batch", args.batch_connections),
    }
    return {
        **{name: run() for name, run in plans.items() if name in args.phases},
        "clients": args.clients,
        "connections": args.connections,
        "seconds_per_phase": seconds,
    }


def summarize(kind: str, done: list[Done], seconds: float, server_cpu: float) -> dict[str, Any]:
    requests = sum(d.requests for d in done)
    rtts = [r for d in done for r in d.rtt_ms]
    statuses: dict[str, int] = {}
    for d in done:
        for status, n in d.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    client_cpu = sum(d.cpu_seconds for d in done)
    return {
        "requests_per_second": round(requests / seconds, 1),
        "events_per_second": round(sum(d.events for d in done) / seconds, 1),
        "accepted": sum(d.accepted for d in done) if kind != "floor" else 0,
        "rtt_p50_ms": percentile(rtts, 0.5),
        "rtt_p99_ms": percentile(rtts, 0.99),
        "statuses": statuses,
        "errors": [e for d in done for e in d.errors][:5],
        # CPU per request, in microseconds: the client's must stay well below the server's
        "client_cpu_us_per_request": round(client_cpu / max(requests, 1) * 1e6, 1),
        "server_cpu_us_per_request": round(server_cpu / max(requests, 1) * 1e6, 1),
        "server_cores_busy": round(server_cpu / seconds, 2),
        "client_cores_busy": round(client_cpu / seconds, 2),
    }


def drain(app: App, phases: dict[str, Any], process: subprocess.Popen[bytes]) -> dict[str, Any]:
    """Wait until the engine has sent an email for every accepted event, then stop the
    server (SIGTERM) and count what was stored."""
    accepted = sum(p.get("accepted", 0) for p in phases.values() if isinstance(p, dict))
    began = time.perf_counter()
    deadline = time.monotonic() + DRAIN_TIMEOUT
    emails = 0
    while time.monotonic() < deadline and process.poll() is None:
        emails = _count(app, messages)
        if emails >= accepted:
            break
        time.sleep(0.5)
    drain_seconds = time.perf_counter() - began
    peak = _peak_rss_mb(process.pid)
    process.terminate()
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        code = process.wait()
    stored = _count(app, events)
    return {
        "emails": _count(app, messages),
        "stored": stored,
        "seconds_draining": round(drain_seconds, 1),
        "server_exit": code,
        "server_peak_rss_mb": peak,
    }


def measure_latency(app: App) -> dict[str, Any]:
    """For the latency phase's events: client sent -> server stored (``received_at``) ->
    email in the outbox (``messages.created_at``), in ms."""
    statement = (
        sa.select(events.c.properties, events.c.received_at, messages.c.created_at)
        .join(messages, messages.c.contact_id == events.c.contact_id)
        .where(events.c.name == LATENCY_EVENT)
    )
    stored, emailed = [], []
    with read_transaction(app.engine) as connection:
        for properties, received_at, created_at in connection.execute(statement):
            sent = dt.datetime.fromtimestamp(properties["sent"], dt.UTC)
            stored.append((received_at - sent).total_seconds() * 1000)
            emailed.append((created_at - sent).total_seconds() * 1000)
    return {
        "count": len(emailed),
        "rate": LATENCY_RATE,
        "to_email_p50_ms": _round(percentile(emailed, 0.5)),
        "to_email_p99_ms": _round(percentile(emailed, 0.99)),
        "to_stored_p50_ms": _round(percentile(stored, 0.5)),
        "to_stored_p99_ms": _round(percentile(stored, 0.99)),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _count(app: App, table: sa.Table) -> int:
    with read_transaction(app.engine) as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


@contextmanager
def running_server(url: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = [_journeyman(), "--db", url, "serve", "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYMAN_")}
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"journeyman serve did not start:\n{log.read().decode()}")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2).is_success:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield port, process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.seek(0)
            text = log.read().decode(errors="replace")
            if "Traceback" in text:
                sys.stderr.write(text[-5000:])


def _journeyman() -> str:
    beside = Path(sys.executable).parent / "journeyman"
    return str(beside) if beside.exists() else "journeyman"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (``serve``'s engine process; Linux
    /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(_cpu_seconds(int(child)) for child in children)


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def one_line(result: dict[str, Any]) -> str:
    """The result as ``python -m bench`` prints it."""
    name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}.get(result["backend"], result["backend"])
    if any(phase not in result for phase in PHASES):
        return f"ingestion, {name}: FAILED ({result.get('error', 'no result')})"
    floor, single, batch = result["floor"], result["single"], result["batch"]
    own, latency = result["in_process"], result["latency"]
    verdict = "ok" if result["ok"] else f"NOT OK ({'; '.join(why_not(result)) or 'see --json'})"
    one, many = single["events_per_second"], batch["events_per_second"]
    return "\n".join(
        [
            f"ingestion over HTTP, {name}, engine running, {result['clients']} client "
            f"processes x {result['connections']} connections: {verdict}",
            f"  POST /v3/events        {one:>9,.0f} events/s (target {TARGETS['single']:,}), "
            f"{_ratio(one, floor['requests_per_second'])} the HTTP floor, "
            f"{_ratio(one, own['single_per_second'])} record_events one per call; "
            f"answered p50 {single['rtt_p50_ms']} ms, p99 {single['rtt_p99_ms']} ms",
            f"  POST /v3/events/batch  {many:>9,.0f} events/s (target {TARGETS['batch']:,}), "
            f"{_ratio(many, own['batch_per_second'])} record_events {BATCH_SIZE} per call",
            f"  baselines: HTTP floor (GET /v3/contacts/attributes) "
            f"{floor['requests_per_second']:,.0f} requests/s; record_events in-process "
            f"{own['single_per_second']:,.0f} events/s one per call, "
            f"{own['batch_per_second']:,.0f} events/s {BATCH_SIZE} per call",
            f"  event sent to email in the outbox, at {latency['rate']:g} events/s: "
            f"p50 {latency['to_email_p50_ms']} ms, p99 {latency['to_email_p99_ms']} ms "
            f"(to stored: p50 {latency['to_stored_p50_ms']} ms, "
            f"p99 {latency['to_stored_p99_ms']} ms)",
            f"  CPU per single event: client {single['client_cpu_us_per_request']:,.0f} us, "
            f"server {single['server_cpu_us_per_request']:,.0f} us "
            f"({single['server_cores_busy']} cores busy); server peak RSS "
            f"{result.get('server_peak_rss_mb')} MB; {result['emails']:,} emails, the last "
            f"{result['seconds_draining']} s after the last phase",
            f"  machine before measuring: {_settled(result.get('settled', []))}",
        ]
    )


def why_not(result: dict[str, Any]) -> list[str]:
    """What made a run not ok, for the one-line report."""
    found = [
        f"{result[name]:,} {name} for {result['accepted']:,} accepted events"
        for name in ("emails", "stored")
        if result.get(name) != result.get("accepted")
    ]
    if result.get("server_exit") != 0:
        found.append(f"the server exited with {result.get('server_exit')}")
    for phase in PHASES:
        measured = result.get(phase)
        errors = measured.get("errors") if isinstance(measured, dict) else None
        if errors:
            found.append(f"{phase}: {errors[0]}")
    return found


def _settled(waits: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"waited {w['waited_s']} s for idle cores, then {w['idle']:.0%} idle"
        if w.get("idle") is not None
        else f"waited {w['waited_s']} s"
        for w in waits
    )


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "n/a x"


def run_in_subprocess(backend: str, seconds: float, postgres_url: str) -> dict[str, Any]:
    """This benchmark in its own process (``python -m bench`` runs it so)."""
    return child.run_json(
        "bench.ingest",
        "--json",
        *("--backend", backend),
        *("--seconds", str(seconds)),
        *("--postgres-url", postgres_url),
        failed={"backend": backend, "workload": "ingest"},
    )


if __name__ == "__main__":
    sys.exit(main())
