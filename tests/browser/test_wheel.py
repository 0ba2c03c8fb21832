"""The wheel is the product: build it as a user would, install it where there is no
Node, and use the UI it serves in Chromium against the real API server.

``python -m build`` makes the sdist and then the wheel *from the sdist*, with Node
off PATH: so the sdist carries the built bundles (and their sources), and the build
hook reuses bundles that match the sources instead of running npm (make test has
built them already). The fresh venv gets only the wheel and its dependencies; the
server runs from that venv with a PATH that has no node, python or npm on it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import (
    RealCluster,
    ServerProcess,
    free_port,
    http_ok,
    stop_server,
    wait_until,
)
from tests.integration.operate_kit import Kube, a_deployment, deploy_path
from tests.processkit import start_process

ROOT = Path(__file__).resolve().parents[2]
BUNDLES = ("app.js", "editor.js", "logs.js", "logs.css", "terminal.js", "terminal.css")


def no_node_path(folder: Path) -> str:
    """A PATH of only ``folder``: whatever the venv needs, and certainly no Node."""
    assert shutil.which("node", path=str(folder)) is None
    assert shutil.which("npm", path=str(folder)) is None
    return str(folder)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    bare = tmp_path_factory.mktemp("bare-bin")  # an empty PATH for the build: no npm
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        env={**os.environ, "PATH": no_node_path(bare)},
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = out.glob("kubelantern-*.whl")
    (sdist,) = out.glob("kubelantern-*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_the_sdist_has_the_frontend_sources_and_the_bundles(built: dict[str, Path]) -> None:
    with tarfile.open(built["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for name in ("frontend/package-lock.json", "frontend/build.mjs", "frontend/src/editor.ts"):
        assert name in names
    assert "hatch_build.py" in names and "LICENSE" in names
    for bundle in BUNDLES:
        assert f"src/kubelantern/web/static/dist/{bundle}" in names
    assert not any("node_modules" in n for n in names)


def test_the_wheel_has_the_bundles_and_the_license(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as whl:
        names = set(whl.namelist())
    for bundle in (*BUNDLES, "manifest.json"):
        assert f"kubelantern/web/static/dist/{bundle}" in names
    assert any(re.search(r"\.dist-info/licenses/LICENSE$", n) for n in names)
    assert not any(n.startswith("frontend/") for n in names)


@pytest.fixture(scope="module")
def venv(built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel (pip from the test venv installs into it)."""
    folder = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(folder / "bin" / "python"), "install",
         "--quiet", "--disable-pip-version-check", str(built["wheel"])],
        check=True,
        timeout=600,
    )  # fmt: skip
    return folder


def test_the_installed_command_reports_its_version(venv: Path) -> None:
    env = {**os.environ, "PATH": no_node_path(venv / "bin")}
    out = subprocess.run(
        [str(venv / "bin" / "kubelantern"), "--version"], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0
    from kubelantern import __version__

    assert out.stdout.strip() == f"kubelantern {__version__}"


@pytest.fixture(scope="module")
def wheel_server(venv: Path, cluster: RealCluster) -> Iterator[ServerProcess]:
    """``kubelantern serve`` from the venv; run outside the checkout, so no src/ is near."""
    port = free_port()
    home = Path(tempfile.mkdtemp(prefix="kl-wheel-home-"))
    env = {
        "PATH": no_node_path(venv / "bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }
    cmd = [str(venv / "bin" / "kubelantern"), "serve", "--listen", f"127.0.0.1:{port}",
           "--kubeconfig", cluster.kubeconfig("admin")]  # fmt: skip
    proc = start_process("kl-wheel", cmd, env=env, cwd=home)
    url = f"http://127.0.0.1:{port}"
    srv = ServerProcess(url=url, proc=proc.popen, log=proc.log)
    try:
        wait_until(
            lambda: http_ok(url + "/clusters.json"),
            120,
            "the wheel's kubelantern serve to answer",
            procs=[proc],
        )
        yield srv
    finally:
        stop_server(srv)
        shutil.rmtree(home, ignore_errors=True)


def test_the_wheel_serves_every_bundle_fingerprinted_and_compressed(
    wheel_server: ServerProcess, cluster: RealCluster
) -> None:
    page = httpx.get(f"{wheel_server.url}/c/{cluster.name}/namespaces/team-a/pods")
    assert page.status_code == 200
    for bundle in BUNDLES:
        plain = httpx.get(f"{wheel_server.url}/-/static/dist/{bundle}")
        assert plain.status_code == 200 and len(plain.content) > 200, bundle
    app_js = re.search(r'src="(/-/static/dist/app\.js\?v=[0-9a-f]{12})"', page.text)
    assert app_js, "the page links the fingerprinted app.js"
    answer = httpx.get(wheel_server.url + app_js.group(1), headers={"Accept-Encoding": "gzip"})
    assert answer.headers["content-encoding"] == "gzip"
    assert "immutable" in answer.headers["cache-control"]


def test_the_wheel_editor_palette_work_in_chromium(
    page: Page, wheel_server: ServerProcess, cluster: RealCluster
) -> None:
    kube = Kube(cluster)
    try:
        with a_deployment(kube, "wheel-ui", replicas=1) as name:
            page.goto(f"{wheel_server.url}/c/{cluster.name}/namespaces/team-a/deployments.apps")
            page.keyboard.press("/")  # the palette (app.js)
            page.keyboard.type("cronj")
            options = page.locator("#palette-results").get_by_role("option")
            expect(options.first).to_contain_text("Cron Jobs")
            page.keyboard.press("Escape")

            path = f"/c/{cluster.name}/namespaces/team-a/deployments.apps/{name}/edit"
            page.goto(wheel_server.url + path)
            editor = page.locator(".cm-editor[data-editor-view]")  # editor.js
            expect(editor).to_be_visible()
            lines = editor.locator(".cm-line")
            index = next(i for i, t in enumerate(lines.all_inner_texts()) if t == "  replicas: 1")
            replicas = lines.nth(index)
            replicas.click()
            page.keyboard.press("End")
            page.keyboard.press("Backspace")
            page.keyboard.type("2")
            expect(replicas).to_have_text(re.compile(r"replicas: 2$"))
            page.locator("[data-editor-review]").click()
            review = page.locator("#editor-review")
            expect(review.locator(".cm-mergeView")).to_be_visible()
            expect(review.locator("pre.diff .diff-add")).to_contain_text(["+  replicas: 2"])
            assert kube.must(deploy_path("team-a", name))["spec"]["replicas"] == 1
    finally:
        kube.close()
