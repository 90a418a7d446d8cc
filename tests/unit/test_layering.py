"""The import contracts in pyproject.toml hold: layers, edges, the pure core, no cycles.

``make check`` runs ``lint-imports`` too; this test is what makes CI (which runs the suite)
check them. The linter runs as its own process: in this one it would reconfigure logging
for every test that follows.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    linter = Path(sys.executable).with_name("lint-imports")

    result = subprocess.run(
        [str(linter), "--no-cache", "--config", str(PROJECT / "pyproject.toml")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
