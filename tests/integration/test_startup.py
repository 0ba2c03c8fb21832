"""The real ``kubelantern serve`` process at start: JSON logs from the first line, and
what it says (or refuses) when no cluster is configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, wait_until


@pytest.fixture
def nowhere(tmp_path: Path) -> dict[str, str]:
    """An environment with no kubeconfig anywhere (and a HOME of its own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBELANTERN_")}
    env.update(HOME=str(tmp_path), KUBECONFIG="")
    return env


@pytest.fixture
def log_file() -> Iterator[Path]:
    with tempfile.NamedTemporaryFile(prefix="kl-start-", suffix=".log", delete=False) as f:
        path = Path(f.name)
    yield path
    path.unlink(missing_ok=True)


def test_json_logs_are_json_from_the_first_line_and_warn_of_no_clusters(
    nowhere: dict[str, str], log_file: Path
) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "kubelantern", "serve", "--listen", f"127.0.0.1:{port}"]
    with log_file.open("wb") as out:
        proc = subprocess.Popen([*cmd, "--log-format", "json"], env=nowhere, stdout=out, stderr=out)
    try:

        def up() -> bool:
            assert proc.poll() is None, log_file.read_text()
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200

        wait_until(up, 60, "kubelantern serve to answer")
        wait_until(lambda: "Application startup complete" in log_file.read_text(), 30, "start")
    finally:
        proc.terminate()
        proc.wait(30)
    text = log_file.read_text()
    assert "\x1b" not in text  # no terminal colour codes anywhere
    records = [json.loads(line) for line in text.splitlines()]  # every line is JSON
    assert "serving on" in records[0]["message"]
    assert not any("color_message" in r for r in records)
    assert any(r["logger"].startswith("uvicorn") for r in records)
    warnings = [r for r in records if r["level"] == "warning"]
    assert any("no cluster is configured" in r["message"] for r in warnings)


def test_require_clusters_refuses_to_start_without_one(
    nowhere: dict[str, str], log_file: Path
) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "kubelantern", "serve", "--listen", f"127.0.0.1:{port}"]
    with log_file.open("wb") as out:
        code = subprocess.run(
            [*cmd, "--require-clusters"], env=nowhere, stdout=out, stderr=out, timeout=60
        ).returncode
    text = log_file.read_text()
    assert code != 0
    assert "no cluster is configured and --require-clusters is set" in text
    assert "Traceback" not in text


def test_missing_bundles_refuse_the_start(
    nowhere: dict[str, str], tmp_path: Path, log_file: Path
) -> None:
    """A copy of the package without dist/ (as a setuptools-era wheel was) must not start."""
    import shutil

    import kubelantern

    copy = tmp_path / "site"
    shutil.copytree(
        Path(kubelantern.__file__).parent,
        copy / "kubelantern",
        ignore=shutil.ignore_patterns("dist", "__pycache__"),
    )
    env = {**nowhere, "PYTHONPATH": str(copy)}
    cmd = [sys.executable, "-m", "kubelantern", "serve", "--listen", f"127.0.0.1:{free_port()}"]
    for fmt in ("text", "json"):
        out = subprocess.run(
            [*cmd, "--log-format", fmt],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert out.returncode == 2
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and "refusing to start" in lines[0] and "make frontend" in lines[0]
        if fmt == "json":
            assert json.loads(lines[0])["level"] == "error"
