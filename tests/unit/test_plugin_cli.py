"""``kubelantern plugins`` and ``kubelantern plugin new``: the scaffold passes its own test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kubelantern.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "plugins"
DIR = ROOT / "tests" / "plugins" / "dir"


def test_plugins_lists_what_loads(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["plugins", "--plugins-dir", str(EXAMPLES), "--plugin-setting", "cost.currency=EUR"])
    out = capsys.readouterr().out
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "STATUS", "FROM", "HOOKS"]
    widgets = next(line for line in lines if line.startswith("widgets "))
    assert "1.0.0" in widgets and "loaded" in widgets and "register_routes" in widgets
    assert "cost: setting currency = 'EUR' (plugin_setting)" in out


def test_plugins_json_and_the_exit_code_on_failures(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["plugins", "--plugins-dir", str(DIR), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 1
    status = {p["name"]: p["status"] for p in data["plugins"]}
    assert status["good"] == "loaded" and status["bad_import"] == "failed"
    assert {p["plugin"] for p in data["problems"]} >= {"bad_import", "typo", "wrong_args"}
    rc = main(["plugins", "--plugins-dir", str(DIR), "--allow-plugin", "good", "--json"])
    capsys.readouterr()
    assert rc == 0


def test_plugin_new_scaffolds_a_package_whose_test_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plugin", "new", "hello-world", "--dir", str(tmp_path)]) == 0
    root = tmp_path / "kubelantern-hello-world"
    assert "Created" in capsys.readouterr().out
    pyproject = (root / "pyproject.toml").read_text()
    assert (
        '[project.entry-points.kubelantern]\nhello-world = "kubelantern_hello_world"' in pyproject
    )
    module = (root / "src" / "kubelantern_hello_world" / "__init__.py").read_text()
    assert module.count("@hookimpl") == 1
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBELANTERN_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    # Installed (here: its src on the path plus the entry point), it loads as any plugin.
    info = root / "src" / "kubelantern_hello_world-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: kubelantern-hello-world\nVersion: 0.1.0\n"
    )
    (info / "entry_points.txt").write_text("[kubelantern]\nhello-world = kubelantern_hello_world\n")
    env["PYTHONPATH"] = os.pathsep.join([str(root / "src"), str(ROOT / "src")])
    listed = subprocess.run(
        [sys.executable, "-m", "kubelantern", "plugins", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    plugin = next(p for p in json.loads(listed.stdout)["plugins"] if p["name"] == "hello-world")
    assert plugin["source"] == "entry point" and plugin["version"] == "0.1.0"
    assert plugin["hooks"] == ["register_routes"] and plugin["templates"]


def test_plugin_new_refuses_bad_names_and_existing_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plugin", "new", "Bad Name", "--dir", str(tmp_path)]) == 2
    (tmp_path / "kubelantern-taken").mkdir()
    assert main(["plugin", "new", "taken", "--dir", str(tmp_path)]) == 2
    assert "not overwriting" in capsys.readouterr().err
