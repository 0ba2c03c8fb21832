"""Port-forward in Chromium: start one from a pod page, use it, stop it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import RealCluster, ServerProcess, wait_until
from tests.integration.operate_kit import Kube, a_deployment
from tests.integration.test_portforward import echo, ready_pods, refused

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def kube(cluster: RealCluster) -> Iterator[Kube]:
    k = Kube(cluster)
    yield k
    k.close()


def test_start_use_and_stop_a_forward(
    page: Page, server: ServerProcess, cluster: RealCluster, kube: Kube
) -> None:
    with a_deployment(kube, "ops-pfb") as dep:
        wait_until(lambda: len(ready_pods(kube, dep)) == 1, 60, "the pod to be ready")
        pod = ready_pods(kube, dep)[0]
        page.goto(f"{server.url}/c/{cluster.name}/namespaces/team-a/pods/{pod}")
        page.locator('a[data-action="portforward"]').click()
        expect(page.locator("h1")).to_contain_text("Port-forward")
        page.locator('#forward-form input[name="port"]').fill("80")
        page.locator('#forward-form button[data-action="portforward"]').click()
        row = page.locator("#forwards tr[data-forward]")
        expect(row).to_have_count(1)
        local = int(row.get_attribute("data-local-port") or "0")
        echo(local)
        with page.expect_navigation():
            row.locator('button[data-action="stop-forward"]').click()
        expect(page.locator("#forwards td.muted")).to_have_text("No active port-forwards.")
        wait_until(lambda: refused(local), 15, "the listener to be closed")
