"""The readable output of ``python -m bench``: a table, the ratios and the targets."""

from __future__ import annotations

import os
import platform
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import TARGET_CONTACTS, TARGETS

MEASURES = (
    "contacts_per_second",
    "purchases_per_second",
    "seconds",
    "purchases",
    "emails",
    "added_to_list",
    "peak_rss_mb",
)
NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}

Result = Mapping[str, Any]


def describe(config: Result) -> str:
    return (
        f"{NAMES[config['backend']]}, {config['contacts']:,} contacts, "
        f"batch size {config['batch_size']:,}"
        + (f", {config['workers']} workers" if config.get("workers", 1) > 1 else "")
    )


def one_line(result: Result) -> str:
    if result.get("contacts_per_second") is None:
        return f"FAILED: {result.get('error', 'no result')}"
    verdict = "ok" if result["ok"] else "WRONG RESULT"
    return (
        f"{result['contacts_per_second']:,.0f} contacts/s, {result['seconds']:.2f} s, "
        f"peak RSS {result['peak_rss_mb']:,.0f} MB, {verdict}"
    )


def print_results(console: Console, results: Sequence[Result], baseline_contacts: int) -> None:
    if not console.is_terminal:
        console = Console(width=max(console.width, 132))  # rich would wrap a pipe at 80
    console.print(_table(results))
    baselines = {r["backend"]: r for r in results if r["baseline"]}
    if baselines:
        console.print(
            "× baseline = batched contacts/s ÷ batch-size-1 contacts/s on the same backend, both "
            f"measured in this run; the batch-size-1 baseline ran at its own contact count "
            f"({baseline_contacts:,}), not at each row's.",
            highlight=False,
        )
    for line in _target_lines(results):
        console.print(line, highlight=False)
    wrong = [r for r in results if not r["ok"]]
    if wrong:
        console.print(f"[red]{len(wrong)} run(s) failed or gave a wrong result[/]")


def _table(results: Sequence[Result]) -> Table:
    table = Table(
        title="Coupon after the first purchase: purchases stored → engine idle, emails in outbox",
        caption=_machine(),
    )
    for header in ("backend", "contacts", "batch size", "contacts/s", "purchases/s", "seconds"):
        table.add_column(header, justify="left" if header == "backend" else "right")
    for header in ("peak RSS MB", "× baseline", "target", "result"):
        table.add_column(header, justify="right")
    baselines = {r["backend"]: r for r in results if r["baseline"]}
    for r in results:
        table.add_row(
            NAMES[r["backend"]],
            f"{r['contacts']:,}",
            f"{r['batch_size']:,}" + (" (baseline)" if r["baseline"] else _workers(r)),
            _number(r["contacts_per_second"]),
            _number(r["purchases_per_second"]),
            "—" if r["seconds"] is None else f"{r['seconds']:.2f}",
            _rss(r),
            _ratio(r, baselines.get(r["backend"])),
            _target(r),
            "ok" if r["ok"] else "[red]FAILED[/]",
        )
    return table


def _rss(result: Result) -> str:
    worker = result.get("peak_rss_worker_mb")
    return _number(result["peak_rss_mb"]) + (f" (workers ≤ {worker:,.0f})" if worker else "")


def _workers(result: Result) -> str:
    return f" × {result['workers']} workers" if result.get("workers", 1) > 1 else ""


def _ratio(result: Result, baseline: Result | None) -> str:
    if result["baseline"] or baseline is None:
        return ""
    now, then = result["contacts_per_second"], baseline["contacts_per_second"]
    if not now or not then:
        return "—"
    return f"{now / then:,.1f}×"


def _target(result: Result) -> str:
    if result["baseline"] or result["contacts"] != TARGET_CONTACTS:
        return ""
    target = TARGETS[result["backend"]]
    met = (result["contacts_per_second"] or 0) >= target
    return f"≥ {target:,} " + ("[green]met[/]" if met else "[red]missed[/]")


def _target_lines(results: Sequence[Result]) -> list[str]:
    lines = []
    for backend, target in TARGETS.items():
        measured = [
            r["contacts_per_second"]
            for r in results
            if r["backend"] == backend and not r["baseline"] and r["contacts"] == TARGET_CONTACTS
        ]
        figure = (
            "not measured in this run"
            if not measured
            else ", ".join(_against(m, target) for m in measured)
        )
        lines.append(
            f"target {NAMES[backend]} at {TARGET_CONTACTS:,} contacts: ≥ {target:,} contacts/s; "
            f"measured: {figure}"
        )
    return lines


def _against(measured: float | None, target: int) -> str:
    if measured is None:
        return "[red]failed[/]"
    verdict = "[green]met[/]" if measured >= target else "[red]missed[/]"
    return f"{measured:,.0f} contacts/s ({verdict})"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _machine() -> str:
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}; email captured, not delivered "
        "(the capture dispatch is timed apart)"
    )
