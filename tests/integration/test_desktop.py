"""Local desktop mode: ``kubelantern`` with no command, as the real process.

It must listen on 127.0.0.1 (another port when 4466 is taken), use the
user's kubeconfig, and let in only the browser that opened the per-run URL:
the key becomes an HttpOnly cookie and disappears from the URL; everything
else gets a 401 page.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import RealCluster, http_ok, wait_until
from tests.processkit import start_process


@dataclass
class Desktop:
    url: str  # as printed, with ?token=
    proc: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


def first_line(proc: subprocess.Popen[bytes]) -> str:
    assert proc.stdout is not None
    return proc.stdout.readline().decode()


@pytest.fixture(scope="module")
def desktop(cluster: RealCluster) -> Iterator[Desktop]:
    # Hold 4466 ourselves (unless something else already does): the app must move aside.
    holder = socket.socket()
    with contextlib.suppress(OSError):
        holder.bind(("127.0.0.1", 4466))
        holder.listen(1)
    env = {**os.environ, "KUBECONFIG": cluster.kubeconfig("admin")}
    env.pop("KUBELANTERN_LISTEN", None)
    proc = start_process(
        "kl-desktop",
        [sys.executable, "-m", "kubelantern", "--no-browser"],
        env=env,
        stdout_pipe=True,
    )
    try:
        line = first_line(proc.popen)
        match = re.search(r"Open (http://\S+)", line)
        assert match, f"{line!r}\n{proc.report()}"
        app = Desktop(url=match.group(1), proc=proc.popen)
        wait_until(lambda: http_ok(app.base + "/healthz"), 30, "desktop", procs=[proc])
        yield app
    finally:
        holder.close()
        proc.stop()


def test_listens_on_loopback_with_a_per_run_key(desktop: Desktop) -> None:
    parts = urlsplit(desktop.url)
    assert parts.hostname == "127.0.0.1"
    assert parts.port != 4466  # taken by the test: a free port instead
    token = dict(p.split("=", 1) for p in parts.query.split("&"))["token"]
    assert len(token) >= 40


def test_without_the_key_every_request_gets_a_401_page(desktop: Desktop) -> None:
    for path in ("/", "/clusters.json", "/-/static/app.css", "/?token=wrong"):
        response = httpx.get(desktop.base + path)
        assert response.status_code == 401, path
        assert "This Kubelantern is private" in response.text
        assert "set-cookie" not in response.headers
    forged = httpx.get(desktop.base + "/", cookies={"kl_local": "guess"})
    assert forged.status_code == 401
    # Probes and metrics stay open (they show no cluster data).
    assert httpx.get(desktop.base + "/healthz").status_code == 200


def test_the_key_becomes_a_cookie_and_leaves_the_url(
    desktop: Desktop, cluster: RealCluster
) -> None:
    with httpx.Client(base_url=desktop.base) as browser:
        first = browser.get(desktop.url.replace(desktop.base, ""))
        assert first.status_code == 303
        assert first.headers["location"] == "/"  # the key is gone from the address bar
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        token = urlsplit(desktop.url).query.split("=", 1)[1]
        assert token not in cookie  # the cookie is derived from the key, not the key itself
        page = browser.get("/")
        assert page.status_code == 200
        assert cluster.name in page.text  # the user's kubeconfig
        clusters = browser.get("/clusters.json").json()["clusters"]
        assert [c["name"] for c in clusters] == [cluster.name]
        # Other query parameters survive the exchange.
        deep = browser.get(f"/c/{cluster.name}/pods?namespaces=team-a&token={token}")
        assert deep.status_code == 303
        assert deep.headers["location"] == f"/c/{cluster.name}/pods?namespaces=team-a"
        assert browser.get(deep.headers["location"]).status_code == 200


WEBVIEW_PYTHON = os.environ.get("KUBELANTERN_TEST_WEBVIEW_PYTHON", "")


@pytest.mark.skipif(
    not WEBVIEW_PYTHON or not shutil.which("xvfb-run"),
    reason="needs a Python with pywebview + GTK WebKit2 (KUBELANTERN_TEST_WEBVIEW_PYTHON) "
    "and xvfb-run; see docs/desktop.md",
)
def test_window_mode_loads_the_ui_in_a_native_webview(cluster: RealCluster) -> None:
    """``--window``: a real WebKit window trades the key and loads the page and its assets."""
    env = {**os.environ, "KUBECONFIG": cluster.kubeconfig("admin")}
    proc = subprocess.Popen(
        ["xvfb-run", "-a", WEBVIEW_PYTHON, "-m", "kubelantern", "--window"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    seen: list[str] = []
    try:
        assert proc.stdout is not None

        def loaded() -> bool:
            line = proc.stdout.readline().decode()  # type: ignore[union-attr]
            seen.append(line)
            return "GET /-/static/app.css 200" in line

        wait_until(loaded, 60, "the window to load the page")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
        proc.stdout.close()  # type: ignore[union-attr]
    log = "".join(seen)
    assert "GET / 303" in log and "GET / 200" in log  # the key became a cookie, then the page
