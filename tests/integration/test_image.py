"""The image's root filesystem, built by `make image` (deploy/image/build), really runs.

No Docker daemon and no image registry here, so the image is assembled from the
wheel and Debian's Python (see deploy/image/build) and proven the way a
container runtime would run it: its root filesystem mounted read-only, an
empty tmpfs at /tmp, the process as uid 10001, talking to the real test API
server. It must answer /healthz, serve a page and the built frontend, and
carry no shell, pip or compiler.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, RealCluster, free_port, http_ok, wait_until
from tests.processkit import start_process

pytestmark = [
    pytest.mark.skipif(
        os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("chroot"),
        reason="running the root filesystem needs root, unshare and chroot (mount namespace)",
    ),
]

OUT = ROOT / "build" / "image"
ROOTFS = OUT / "rootfs"


@pytest.fixture(scope="module")
def rootfs() -> Path:
    """Built once per input change (deploy/image/build keeps a hash of its inputs)."""
    proc = subprocess.run(
        [str(ROOT / "deploy" / "image" / "build"), str(OUT)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return ROOTFS


@pytest.fixture(scope="module")
def served(rootfs: Path, cluster: RealCluster) -> Iterator[tuple[str, int]]:
    port = free_port()
    kubeconfig = cluster.kubeconfig("admin")
    # In its own mount namespace: the root filesystem bound read-only, a fresh
    # tmpfs at /tmp (the chart's emptyDir) holding the kubeconfig, then chroot as 10001.
    script = (
        'set -e; r="$1"; kc="$2"; shift 2; '
        'mount --bind "$r" "$r"; mount -o remount,bind,ro "$r"; '
        'mount -t tmpfs -o mode=1777,size=64m tmpfs "$r/tmp"; '
        'cp "$kc" "$r/tmp/kubeconfig"; chown 10001:10001 "$r/tmp/kubeconfig"; '
        'exec chroot --userspec=10001:10001 "$r" "$@"'
    )
    env = {
        "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
        "PYTHONPATH": "/opt/kubelantern/site",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
    }
    command = [
        "unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
        str(rootfs), kubeconfig,
        "/usr/bin/python3.11", "-m", "kubelantern", "serve",
        "--listen", f"127.0.0.1:{port}", "--kubeconfig", "/tmp/kubeconfig",
        "--log-format", "json",
    ]  # fmt: skip
    proc = start_process("kl-image", command, env=env)
    base = f"http://127.0.0.1:{port}"
    wait_until(
        lambda: http_ok(f"{base}/healthz"),
        timeout=120,
        what="the image's kubelantern to answer /healthz",
        procs=[proc],
    )
    try:
        yield base, proc.pid
    finally:
        proc.stop(timeout=30)


def test_the_image_serves_pages_and_its_frontend(served: tuple[str, int]) -> None:
    base, _pid = served
    page = httpx.get(f"{base}/", follow_redirects=True, timeout=30)
    assert page.status_code == 200
    assert "Kubelantern" in page.text
    script = httpx.get(f"{base}/-/static/dist/app.js", timeout=30)
    assert script.status_code == 200 and len(script.content) > 1000


def test_the_image_carries_helm_for_release_actions(
    served: tuple[str, int], cluster: RealCluster
) -> None:
    base, _pid = served
    page = httpx.get(f"{base}/c/{cluster.name}/helm.json", timeout=30)
    assert page.status_code == 200, page.text
    assert page.json()["helm"]["available"] is True, page.json()["helm"]


def test_the_image_runs_as_10001_on_a_read_only_root(served: tuple[str, int]) -> None:
    _base, pid = served
    status = Path(f"/proc/{pid}/status").read_text()
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    assert uid_line.split()[1:] == ["10001"] * 4
    # mount points as the chrooted process sees them: its / and its /tmp
    mounts = {
        m.split()[1]: m.split()[3].split(",")
        for m in Path(f"/proc/{pid}/mounts").read_text().splitlines()
    }
    assert "ro" in mounts["/"]
    assert "rw" in mounts["/tmp"]


def test_the_image_has_no_build_tools(rootfs: Path) -> None:
    for tool in ("bin/sh", "usr/bin/sh", "bin/bash", "usr/bin/pip", "usr/bin/gcc", "usr/bin/apt"):
        assert not (rootfs / tool).exists(), tool
    site = rootfs / "opt" / "kubelantern" / "site"
    assert not (site / "pip").exists() and not (site / "setuptools").exists()
    assert (site / "kubelantern" / "web" / "static" / "dist" / "app.js").is_file()
