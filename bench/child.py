"""One benchmark in a process of its own (so that its peak RSS is its own): the JSON line it
prints last, or ``failed`` with the exit status when it printed none."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent  # so that the child can import ``bench``


def run_json(module: str, *args: str, failed: Mapping[str, Any]) -> dict[str, Any]:
    """``python -m MODULE ARGS...``; its stderr goes to ours."""
    command = [sys.executable, "-m", module, *args]
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    try:
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        result = {
            **failed,
            "ok": False,
            "error": f"{module} exited with status {done.returncode} (its stderr is above)",
        }
    return result
