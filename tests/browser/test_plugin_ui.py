"""In Chromium, with the example plugins: a plugin's button asks first, then acts as the
user and redraws the buttons; the sidebar leads to a plugin's page, styled by its CSS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.conftest import RealCluster, ServerProcess, start_server, stop_server
from tests.integration.operate_kit import Kube, a_deployment, deploy_path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plugins"


@pytest.fixture(scope="module")
def plugin_server(cluster: RealCluster) -> Iterator[ServerProcess]:
    srv = start_server("--kubeconfig", cluster.kubeconfig("admin"), "--plugins-dir", str(EXAMPLES))
    yield srv
    stop_server(srv)


def test_plugin_action_asks_then_annotates(
    page: Page, plugin_server: ServerProcess, cluster: RealCluster
) -> None:
    kube = Kube(cluster)
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    try:
        with a_deployment(kube, "ops-ui-stamp") as name:
            url = f"{plugin_server.url}/c/{cluster.name}/namespaces/team-a/deployments.apps/{name}"
            page.goto(url)
            page.once("dialog", accept)
            page.locator('#object-actions [data-action="annotate.stamp"]').click()
            expect(page.locator("#action-result")).to_contain_text(f"Annotated Deployment {name}")
            assert asked == [f"Annotate Deployment {name} with the current time?"]
            expect(page.locator('#object-actions [data-action="annotate.stamp"]')).to_be_visible()
            meta = kube.must(deploy_path("team-a", name))["metadata"]
            assert "kubelantern.example/touched-at" in meta["annotations"]
    finally:
        kube.close()


def test_sidebar_to_the_widgets_dashboard(
    page: Page, plugin_server: ServerProcess, cluster: RealCluster
) -> None:
    page.goto(f"{plugin_server.url}/c/{cluster.name}/")
    page.locator(".sidebar a", has_text="Widgets dashboard").click()
    expect(page).to_have_url(f"{plugin_server.url}/-/p/widgets/c/{cluster.name}")
    tile = page.locator("[data-count]")
    expect(tile).to_contain_text("3")
    assert tile.evaluate("e => getComputedStyle(e).borderRadius") == "8px"  # widgets.css
    page.locator("a", has_text="big-red").click()
    expect(page.locator("h1")).to_contain_text("big-red")
