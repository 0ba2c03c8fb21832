"""Open a terminal in Chromium (xterm.js over the WebSocket) and see a command's output."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.conftest import RealCluster, ServerProcess
from tests.streamkit import web_pods


def test_terminal_runs_a_command(page: Page, server: ServerProcess, cluster: RealCluster) -> None:
    pod = web_pods(cluster)[0]
    page.goto(f"{server.url}/c/{cluster.name}/namespaces/team-a/pods/{pod}")
    page.locator('a[data-action="exec"]').click()
    status = page.locator("[data-term-status]")
    expect(status).to_contain_text("v5.channel.k8s.io")
    expect(status).to_contain_text("/bin/bash")
    page.locator(".xterm").click()
    page.keyboard.type("echo $((6*7))-from-xterm\n")
    # The typed line shows "$((6*7))"; only the command's output shows "42".
    expect(page.locator(".xterm-rows")).to_contain_text("42-from-xterm")
    page.keyboard.type("exit\n")
    expect(status).to_have_text("session ended (exit code 0)")
