"""Builds the workflow builder (``ui/``, React + TypeScript) into ``journeyman/web/builder``
when a wheel or an sdist is built, so that ``pip install`` ships it and its users need no
Node.js. An sdist carries the built files and not ``ui/``: building a wheel from it needs no
Node.js either. Editable installs leave the build to ``make ui``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).parent
UI = ROOT / "ui"
BUILT = ROOT / "src" / "journeyman" / "web" / "builder" / "index.html"


def build_ui() -> None:
    if not (UI / "package.json").is_file():
        return  # an sdist: the built files came with it
    npm = shutil.which("npm")
    if npm is None:
        if BUILT.is_file():
            return
        raise SystemExit("building journeyman needs Node.js and npm for the workflow builder (ui/)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=UI, check=True)
    subprocess.run([npm, "run", "build"], cwd=UI, check=True)


class BuildPy(build_py):
    def run(self) -> None:
        if not getattr(self, "editable_mode", False):
            build_ui()
        super().run()


class Sdist(sdist):
    def run(self) -> None:
        build_ui()
        super().run()


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
