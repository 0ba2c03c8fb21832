"""hatch_build.py: the same source hash as frontend/build.mjs, and one clear line
when the bundles would have to be built and npm is missing."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("hatch_build", ROOT / "hatch_build.py")
assert _spec is not None and _spec.loader is not None
hatch_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hatch_build)

DIST = ROOT / "src/kubelantern/web/static/dist"


def test_python_and_node_hash_the_same_sources() -> None:
    """make frontend (Node) wrote the manifest; the hook (Python) must agree, or every
    wheel build would want npm."""
    manifest = json.loads((DIST / "manifest.json").read_text())
    assert manifest["source"] == hatch_build.source_hash(ROOT / "frontend")
    assert hatch_build.up_to_date(ROOT)


def test_a_changed_source_makes_the_bundles_stale(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "frontend", tmp_path / "frontend", ignore=_no_modules)
    shutil.copytree(DIST, tmp_path / "src/kubelantern/web/static/dist")
    assert hatch_build.up_to_date(tmp_path)
    with (tmp_path / "frontend/src/app.ts").open("a") as f:
        f.write("\n// changed\n")
    assert not hatch_build.up_to_date(tmp_path)


def test_without_npm_the_build_stops_with_one_line(tmp_path: Path) -> None:
    for name in ("pyproject.toml", "hatch_build.py", "LICENSE", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "frontend", tmp_path / "frontend", ignore=_no_modules)
    shutil.copytree(
        ROOT / "src",
        tmp_path / "src",
        ignore=shutil.ignore_patterns("dist", "__pycache__", "*.egg-info"),
    )
    bare = tmp_path / "bin"
    bare.mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", "out", "."],
        cwd=tmp_path,
        env={**os.environ, "PATH": str(bare)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode != 0
    said = [line for line in (out.stdout + out.stderr).splitlines() if "npm is not on PATH" in line]
    assert len(said) == 1 and "install Node.js" in said[0] and "make frontend" in said[0]
    assert "Traceback" not in out.stdout + out.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.whl"))


def _no_modules(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "node_modules"]
