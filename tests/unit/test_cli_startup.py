"""The command starts without the engine: `journeyman --help`, a mistyped option and the
parsing of every command load neither the store nor the template, HTTP or API libraries;
each command imports what it uses when it runs."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "psycopg", "jinja2", "httpx", "fastapi", "pydantic", "yaml")

PROBE = """
import json, sys
import journeyman.cli
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_importing_the_command_loads_no_engine_library() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout))
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert "journeyman" in loaded


def test_the_package_names_load_on_first_use() -> None:
    probe = (
        "import sys, journeyman\n"
        "assert 'journeyman.app' not in sys.modules\n"
        "from journeyman import App, Settings, parse_workflow\n"
        "print(App.__module__, Settings.__module__, parse_workflow.__module__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == [
        "journeyman.app",
        "journeyman.config",
        "journeyman.workflow.document",
    ]
