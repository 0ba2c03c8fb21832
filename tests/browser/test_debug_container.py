"""Debug in Chromium: the pod page's Debug button, the form, and the terminal attached
to the new ephemeral container."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import RealCluster, ServerProcess
from tests.debugkit import a_running_pod, pod_path
from tests.integration.operate_kit import Kube

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def kube(cluster: RealCluster) -> Iterator[Kube]:
    k = Kube(cluster)
    yield k
    k.close()


def test_debug_opens_a_terminal_on_the_new_container(
    page: Page, server: ServerProcess, cluster: RealCluster, kube: Kube
) -> None:
    with a_running_pod(kube) as pod:
        page.goto(f"{server.url}/c/{cluster.name}/namespaces/team-a/pods/{pod}")
        page.locator('a[data-action="debug"]').click()
        expect(page.locator("h1")).to_contain_text("Debug")
        page.locator('#debug-form select[name="target"]').select_option("main")
        page.locator('#debug-form button[data-action="debug"]').click()
        expect(page).to_have_url(re.compile(rf"/pods/{pod}/attach\?container=debugger-"))
        status = page.locator("[data-term-status]")
        expect(status).to_contain_text("channel.k8s.io")
        (eph,) = kube.must(pod_path(pod))["spec"]["ephemeralContainers"]
        assert eph["targetContainerName"] == "main"
        assert page.url.endswith(f"container={eph['name']}")
