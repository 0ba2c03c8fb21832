"""In Chromium: the policy blocks framing and injected script, and the islands still work.

* A page on another origin (a second local server) that frames Kubelantern
  gets nothing: ``frame-ancestors 'none'`` (issue 11, item 6: clickjacking).
* Markup with script in it, handed over unescaped by a test plugin
  (``xssprobe``, a stand-in for any missed escape), does not run: no inline
  ``<script>``, no ``onerror=``, no ``javascript:`` link. Payloads in an
  object's annotations and data stay text.
* The YAML editor (CodeMirror), the logs view (SSE), the terminal (xterm.js
  over a WebSocket), live lists (SSE) and the palette work under the policy
  with no "Refused to ..." message and no ``securitypolicyviolation`` event.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.conftest import RealCluster, ServerProcess, start_server, stop_server, wait_until
from tests.integration.operate_kit import Kube, unique
from tests.streamkit import web_pods

PROBE_DIR = Path(__file__).resolve().parent / "xssprobe"
CM_PATH = "/api/v1/namespaces/team-a/configmaps"
# Records every CSP violation of the page, before any of its own scripts run
# (Playwright's init scripts are not subject to the page's policy).
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.effectiveDirective + " " + e.blockedURI + " " + (e.sample || ""));
});
"""


class Watched:
    """A page whose console messages and CSP violations are kept."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.on("console", self._console)
        page.add_init_script(LISTEN)

    def _console(self, message: ConsoleMessage) -> None:
        self.console.append(message.text)

    def refusals(self) -> list[str]:
        refused = [m for m in self.console if "Refused to" in m or "Content Security" in m]
        try:
            violations: list[str] = self.page.evaluate("window.__violations || []")
        except Exception:  # the page is navigating: its console messages still count
            violations = []
        return refused + violations


@pytest.fixture
def watched(page: Page) -> Watched:
    """The page of tests/security/conftest.py (a dialog fails the test), watched."""
    page.set_default_timeout(30000)
    return Watched(page)


@pytest.fixture(scope="module")
def probe_server(cluster: RealCluster) -> Iterator[ServerProcess]:
    srv = start_server("--kubeconfig", cluster.kubeconfig("admin"), "--plugins-dir", str(PROBE_DIR))
    yield srv
    stop_server(srv)


# ---- framing -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def other_site(probe_server: ServerProcess) -> Iterator[str]:
    """A page on another origin (another port) that puts Kubelantern in an iframe."""
    body = (
        f'<!doctype html><title>evil</title><iframe id="victim" src="{probe_server.url}/" '
        'width="800" height="600"></iframe>'
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_another_site_cannot_frame_kubelantern(watched: Watched, other_site: str) -> None:
    page = watched.page
    page.goto(other_site)
    wait_until(
        lambda: any("frame-ancestors" in m for m in watched.console),
        60,
        "Chromium to refuse the frame",
    )
    frame = page.frame_locator("#victim")
    # Nothing of Kubelantern was rendered inside: no brand, no link, no script ran.
    assert frame.locator(".brand").count() == 0
    child = [f for f in page.frames if f != page.main_frame]
    assert child and not any(
        f.url.startswith("http://127.0.0.1")
        and "Kubelantern" in (f.title() if not f.is_detached() else "")
        for f in child
    )


# ---- injected script ------------------------------------------------------------------------


def test_injected_script_does_not_run(
    watched: Watched, probe_server: ServerProcess, cluster: RealCluster, kube: Kube
) -> None:
    name = unique("sec-xss")
    payload = '<script>window.__xss="annotation"</script><img src=x onerror="window.__xss=1">'
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": "team-a",
                "annotations": {"kubelantern.test/xss": payload},
            },
            "data": {"x.html": payload, "y": '"><svg onload=window.__xss=2>'},
        },
        f"{CM_PATH}/{name}",
    )
    page = watched.page
    try:
        page.goto(f"{probe_server.url}/c/{cluster.name}/namespaces/team-a/configmaps/{name}")
        probe = page.locator("[data-xss-probe]")
        expect(probe).to_have_count(1)  # the unescaped markup is in the page...
        wait_until(
            lambda: any("script-src" in v for v in watched.refusals()),
            60,
            "the policy to refuse the probe's script",
        )
        page.locator("[data-xss-link]").click()
        wait_until(
            lambda: sum("script-src" in v for v in watched.refusals()) >= 3,
            60,
            "the policy to refuse the javascript: link",
        )
        assert page.evaluate("window.__xss") is None  # ...and none of it ran
        # The object's own values are shown as text, not markup.
        expect(page.locator("main")).to_contain_text("onerror=")
        assert page.locator("main img[src=x]").count() == 0
        # The list (live rows come over SSE as HTML) and the YAML editor show them inert too.
        page.goto(f"{probe_server.url}/c/{cluster.name}/namespaces/team-a/configmaps")
        expect(page.locator(f'tr[data-key$="{name}"]')).to_have_count(1)
        page.goto(f"{probe_server.url}/c/{cluster.name}/namespaces/team-a/configmaps/{name}/edit")
        expect(page.locator(".cm-content")).to_contain_text("onerror")
        assert page.evaluate("window.__xss") is None
    finally:
        kube.delete(f"{CM_PATH}/{name}")


# ---- the islands work under the policy ------------------------------------------------------


def test_the_islands_work_without_a_single_refusal(
    watched: Watched, probe_server: ServerProcess, cluster: RealCluster, kube: Kube
) -> None:
    page = watched.page
    base = f"{probe_server.url}/c/{cluster.name}"
    name = unique("sec-island")
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "team-a"},
            "data": {"k": "v"},
        },
        f"{CM_PATH}/{name}",
    )
    seen: list[str] = []
    try:
        # A live list (SSE) and the palette.
        page.goto(f"{base}/namespaces/team-a/pods")
        expect(page.locator("[data-live-status]")).to_have_text("Live")
        page.keyboard.press("Control+k")
        box = page.get_by_role("combobox", name="Search kinds and objects")
        box.type("cronj")
        expect(page.locator("#palette-results").get_by_role("option").first).to_contain_text(
            "Cron Jobs"
        )
        seen += watched.refusals()

        # The YAML editor: CodeMirror's own <style> (with the nonce) is applied.
        page.goto(f"{base}/namespaces/team-a/configmaps/{name}/edit")
        editor = page.locator(".cm-editor")
        expect(editor).to_be_visible()
        assert editor.evaluate("e => getComputedStyle(e).display") == "flex"
        page.locator(".cm-content").click()
        page.keyboard.press("Control+End")
        page.keyboard.type("\n# typed under the CSP")
        expect(page.locator(".cm-content")).to_contain_text("typed under the CSP")
        seen += watched.refusals()

        # Logs over SSE.
        pod = web_pods(cluster)[0]
        page.goto(f"{base}/namespaces/team-a/pods/{pod}/logs")
        expect(page.locator("[data-log-status]")).to_have_text("following")
        expect(page.locator("[data-log-view]")).to_contain_text("kubelantern testenv pod log line")
        seen += watched.refusals()

        # The terminal: xterm.js's <style> elements and the WebSocket (connect-src 'self').
        page.goto(f"{base}/namespaces/team-a/pods/{pod}/exec")
        status = page.locator("[data-term-status]")
        expect(status).to_contain_text("v5.channel.k8s.io")
        page.locator(".xterm").click()
        page.keyboard.type("echo $((6*7))-under-csp\n")
        expect(page.locator(".xterm-rows")).to_contain_text("42-under-csp")
        page.keyboard.type("exit\n")
        expect(status).to_have_text("session ended (exit code 0)")
        seen += watched.refusals()
    finally:
        kube.delete(f"{CM_PATH}/{name}")
    assert not seen, seen
    assert not [m for m in watched.console if "Permissions-Policy" in m], watched.console
