"""``python -m bench``: the example at several sizes, on SQLite and PostgreSQL, batched and one
contact per transaction (batch size 1), each configuration in its own process."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

import psycopg
from rich.console import Console

from bench import DEFAULT_POSTGRES_URL, child, ingest, report, timers
from bench.worker import admin_connection

BACKENDS = ("sqlite", "postgres")
FULL_CONTACTS = 1_000_000
# Not 10,000: one contact per transaction ran at 27-75 contacts/s on PostgreSQL on the 2-core
# machine (10,000 took 134 s at best); 2,000 keeps a default ``make bench`` to a few minutes.
# The per-contact rate depends only mildly on the count (the cost is per transaction).
BASELINE_CONTACTS = 2_000


@dataclass(frozen=True, kw_only=True)
class Config:
    backend: str
    contacts: int
    batch_size: int
    workers: int = 1
    baseline: bool = False


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    err = Console(stderr=True)
    backends = list(BACKENDS) if args.backend == "all" else [args.backend]
    if "postgres" in backends and (problem := postgres_problem(args.postgres_url)):
        if args.backend == "postgres":
            err.print(f"[red]PostgreSQL unreachable at {args.postgres_url}: {problem}[/]")
            return 2
        err.print(f"[yellow]PostgreSQL unreachable ({problem}): running SQLite only[/]")
        backends.remove("postgres")
    skipped = len(backends) < len(BACKENDS) and args.backend == "all"
    results: list[dict[str, Any]] = []
    for config in plan(args, backends):
        if not args.json:
            err.print(f"running {report.describe(config.__dict__)} ...", highlight=False)
        result = run_in_subprocess(config, args.postgres_url)
        results.append(result)
        if args.json:
            sys.stdout.write(json.dumps(result) + "\n")
            sys.stdout.flush()
        else:
            err.print(f"  {report.one_line(result)}", highlight=False)
    if not args.json:
        report.print_results(Console(), results, args.baseline_contacts)
    for backend in backends if args.actions_contacts else []:
        result = run_actions(backend, args.actions_contacts, args.postgres_url)
        results.append(result)
        if args.json:
            sys.stdout.write(json.dumps(result) + "\n")
        else:
            Console().print(
                f"every-action workflow, {report.NAMES.get(backend, backend)}, "
                f"{result.get('contacts', 0):,} contacts x 15 steps: "
                f"{result.get('contacts_per_second') or 0:,.0f} contacts/s, "
                f"{result.get('steps_per_second') or 0:,.0f} steps/s, "
                f"{result.get('seconds')} s, peak RSS {result.get('peak_rss_mb')} MB, "
                f"{'ok' if result.get('ok') else 'NOT OK'}",
                highlight=False,
            )
    for backend in backends:
        count = timers.DEFAULT_RUNS[backend] if args.timer_runs is None else args.timer_runs
        if count:
            result = timers.run_in_subprocess(backend, count, args.postgres_url)
            results.append(result)
            out = json.dumps(result) if args.json else timers.one_line(result)
            sys.stdout.write(out + "\n")
    for backend in backends if args.ingest_seconds else []:
        result = ingest.run_in_subprocess(backend, args.ingest_seconds, args.postgres_url)
        results.append(result)
        sys.stdout.write((json.dumps(result) if args.json else ingest.one_line(result)) + "\n")
    if skipped:
        err.print("[red]incomplete: PostgreSQL was skipped (unreachable)[/]")
    return 0 if all(r["ok"] for r in results) and not skipped else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--backend", choices=(*BACKENDS, "all"), default="all")
    parser.add_argument(
        "--contacts",
        action="append",
        type=contact_counts,
        help="contacts per run; repeatable or comma-separated (default 10000,100000)",
    )
    parser.add_argument("--batch-size", type=positive, default=1000)
    parser.add_argument(
        "--baseline-contacts",
        type=non_negative,
        default=BASELINE_CONTACTS,
        help=f"contacts for the batch-size-1 run on each backend (default {BASELINE_CONTACTS:,}; "
        "0: none)",
    )
    parser.add_argument(
        "--workers",
        type=contact_counts,
        default=[1, 2],
        help="engine worker processes for the batched runs, comma-separated "
        "(default 1,2; the baseline always uses 1)",
    )
    parser.add_argument("--full", action="store_true", help="also 1,000,000 contacts on SQLite")
    parser.add_argument(
        "--actions-contacts",
        type=non_negative,
        default=10_000,
        help="contacts for the every-action workflow on each backend (default 10,000; 0: none)",
    )
    parser.add_argument(
        "--timer-runs",
        type=non_negative,
        help="runs waiting on a delay for the timer benchmark on each backend (default "
        "1,000,000 on SQLite, 100,000 on PostgreSQL; 0: none)",
    )
    parser.add_argument(
        "--ingest-seconds",
        type=non_negative,
        help="seconds per phase of the ingestion benchmark (events over HTTP) on each backend "
        f"(default {ingest.DEFAULT_SECONDS:g}, with --full {ingest.FULL_SECONDS:g}; 0: none)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per run per line")
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="maintenance database; each run creates and drops its own database beside it",
    )
    args = parser.parse_args(argv)
    if args.ingest_seconds is None:
        args.ingest_seconds = ingest.FULL_SECONDS if args.full else ingest.DEFAULT_SECONDS
    args.contacts = sorted({n for group in args.contacts or [[10_000, 100_000]] for n in group})
    return args


def plan(args: argparse.Namespace, backends: list[str]) -> list[Config]:
    configs = []
    for backend in backends:
        if args.baseline_contacts > 0:
            baseline = Config(
                backend=backend, contacts=args.baseline_contacts, batch_size=1, baseline=True
            )
            configs.append(baseline)
        counts = list(args.contacts)
        if args.full and backend == "sqlite" and FULL_CONTACTS not in counts:
            counts.append(FULL_CONTACTS)
        configs += [
            Config(backend=backend, contacts=n, batch_size=args.batch_size, workers=w)
            for n in counts
            for w in args.workers
        ]
    return configs


def run_in_subprocess(config: Config, postgres_url: str) -> dict[str, Any]:
    result = child.run_json(
        "bench.worker",
        *("--backend", config.backend),
        *("--contacts", str(config.contacts)),
        *("--batch-size", str(config.batch_size)),
        *("--workers", str(config.workers)),
        *("--postgres-url", postgres_url),
        failed={
            "backend": config.backend,
            "contacts": config.contacts,
            "batch_size": config.batch_size,
            "workers": config.workers,
            **dict.fromkeys(report.MEASURES),
        },
    )
    return {**result, "baseline": config.baseline}


def run_actions(backend: str, contacts: int, postgres_url: str) -> dict[str, Any]:
    """The mixed-actions workload (``bench/actions.py``) in its own process."""
    return child.run_json(
        "bench.actions",
        *("--backend", backend),
        *("--contacts", str(contacts)),
        *("--postgres-url", postgres_url),
        failed={"backend": backend, "workload": "actions", "contacts": contacts},
    )


def postgres_problem(url: str) -> str | None:
    try:
        with admin_connection(url) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def contact_counts(text: str) -> list[int]:
    return [positive(part) for part in text.split(",") if part.strip()]


def positive(text: str) -> int:
    return _whole(text, minimum=1)


def non_negative(text: str) -> int:
    return _whole(text, minimum=0)


def _whole(text: str, *, minimum: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{value} must be at least {minimum}")
    return value


if __name__ == "__main__":
    sys.exit(main())
