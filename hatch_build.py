"""Build hook: every wheel and sdist carries the built browser bundles.

The bundles in ``src/kubelantern/web/static/dist/`` are build outputs (git
ignores them), so a plain ``pip install .`` or ``python -m build`` would
package a UI without its JavaScript. Before hatchling collects files this hook
makes sure ``dist/`` is there and matches the sources in ``frontend/``:

* up to date (``dist/manifest.json`` names the hash of today's sources, see
  ``frontend/build.mjs``): reused as is, no Node needed. This is the case for a
  wheel built from the sdist, which carries both the sources and the bundles;
* present but their sources are not (a Docker build stage copies only dist/):
  reused as is;
* missing or stale: ``npm ci`` (only without ``node_modules``) and
  ``npm run build``; without npm on PATH the build stops with one line saying
  what to do.

Editable installs (``pip install -e``) skip the hook: ``make frontend`` builds
the bundles in place and the server says loudly when they are missing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

DIST = Path("src/kubelantern/web/static/dist")
FRONTEND = Path("frontend")
# The inputs of the bundle build: the same list as sourceHash() in frontend/build.mjs.
SOURCE_FILES = ("build.mjs", "package.json", "package-lock.json", "tsconfig.json")


def source_hash(frontend: Path) -> str:
    """sha256 over (path NUL content NUL) of every build input, in path order."""
    names = list(SOURCE_FILES)
    names += [
        p.relative_to(frontend).as_posix() for p in (frontend / "src").rglob("*") if p.is_file()
    ]
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode() + b"\0")
        digest.update((frontend / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def up_to_date(root: Path) -> bool:
    """dist/ holds every bundle its manifest lists, built from today's sources."""
    manifest = root / DIST / "manifest.json"
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    files = data.get("files") or {}
    if not files or not all((root / DIST / name).is_file() for name in files):
        return False
    if not (root / FRONTEND / "package.json").is_file():
        return True  # bundles without their sources (e.g. a Docker stage): nothing to compare
    return bool(data.get("source") == source_hash(root / FRONTEND))


class BuildFailed(SystemExit):
    """Ends the build with one line (SystemExit: no traceback from the hook)."""


def build_frontend(root: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise BuildFailed(
            "kubelantern: the browser bundles (src/kubelantern/web/static/dist/) are not "
            "built and npm is not on PATH: install Node.js 20+ and retry, or run "
            "`make frontend` first, or install a released wheel."
        )
    frontend = root / FRONTEND
    if not (frontend / "node_modules").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=frontend, check=True
        )
    subprocess.run([npm, "run", "--silent", "build"], cwd=frontend, check=True)
    if not up_to_date(root):
        raise BuildFailed("kubelantern: `npm run build` did not produce dist/manifest.json")


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """hatchling's hook for the wheel and sdist targets (see pyproject.toml)."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        root = Path(self.root)
        if not up_to_date(root):
            build_frontend(root)
