"""Node shell in Chromium: Shell on a node page, the terminal attached to the privileged
pod, and the pod deleted once the tab is closed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import RealCluster, ServerProcess, start_server, stop_server, wait_until
from tests.integration.operate_kit import Kube

pytestmark = pytest.mark.timeout(180)

NS = "team-a"


@pytest.fixture(scope="module")
def shell_server(cluster: RealCluster) -> Iterator[ServerProcess]:
    server = start_server(
        "--kubeconfig", cluster.kubeconfig("admin"), "--node-shell", "--node-shell-namespace", NS
    )
    yield server
    stop_server(server)


def test_node_shell_from_the_node_page(
    browser: Browser, shell_server: ServerProcess, cluster: RealCluster
) -> None:
    kube = Kube(cluster)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(30000)
        page.goto(f"{shell_server.url}/c/{cluster.name}/nodes/kwok-node-0")
        page.locator('a[data-action="node-shell"]').click()
        page.locator('#shell-form button[data-action="node-shell"]').click()
        expect(page.locator("[data-term-status]")).to_contain_text("channel.k8s.io")
        pod = page.url.split("/pods/")[1].split("/")[0]
        assert pod.startswith("node-shell-kwok-node-0-")
        path = f"/api/v1/namespaces/{NS}/pods/{pod}"
        page.close()
        wait_until(
            lambda: (
                (kube.get(path) or {}).get("metadata", {}).get("deletionTimestamp") is not None
                or kube.get(path) is None
            ),
            30,
            "the shell pod to be deleted with the tab",
        )
    finally:
        context.close()
        kube.close()
