"""Browse in Chromium: sidebar -> list -> detail, live rows, the Ctrl-K palette, themes."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.conftest import RealCluster, ServerProcess
from tests.kube import kube_client, pod_manifest


def test_sidebar_list_detail_and_back(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    page.goto(f"{server.url}/c/{cluster.name}/")
    page.locator(".sidebar").get_by_role("link", name="Deployments").click()
    expect(page.locator("h1")).to_contain_text("Deployments")
    page.locator('tr[data-name="web"]').get_by_role("link", name="web").click()
    expect(page).to_have_url(
        f"{server.url}/c/{cluster.name}/namespaces/team-a/deployments.apps/web"
    )
    expect(page.locator("#yaml")).to_contain_text("kind: Deployment")
    page.go_back()
    expect(page.locator('tr[data-name="web"]')).to_be_visible()


def test_new_pod_appears_and_disappears_without_reload(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    page.goto(f"{server.url}/c/{cluster.name}/namespaces/team-b/pods")
    expect(page.locator("[data-live-status]")).to_have_text("Live")
    page.evaluate("window.__marker = 'same page'")
    row = page.locator('tr[data-name="browser-live"]')
    with kube_client(cluster.kubeconfig()) as kube:
        kube.post("/api/v1/namespaces/team-b/pods", json=pod_manifest("browser-live", "team-b"))
        try:
            expect(row).to_be_visible()
        finally:
            kube.delete("/api/v1/namespaces/team-b/pods/browser-live?gracePeriodSeconds=0")
    expect(row).to_have_count(0)
    assert page.evaluate("window.__marker") == "same page"  # no reload happened


def test_ctrl_k_finds_a_seeded_object(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    page.goto(f"{server.url}/c/{cluster.name}/")
    page.keyboard.press("Control+k")
    box = page.get_by_role("combobox", name="Search kinds and objects")
    expect(box).to_be_focused()
    box.type("node-exp")
    option = (
        page.locator("#palette-results")
        .get_by_role("option")
        .filter(has_text="node-exporter")
        .first
    )
    expect(option).to_be_visible()
    for _ in range(20):  # walk down to it with the keyboard only
        if option.get_attribute("aria-selected") == "true":
            break
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page).to_have_url(
        f"{server.url}/c/{cluster.name}/namespaces/monitoring/daemonsets.apps/node-exporter"
    )


def test_slash_opens_palette_and_jumps_to_a_kind(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    page.goto(f"{server.url}/c/{cluster.name}/")
    page.keyboard.press("/")
    page.keyboard.type("cronj")
    expect(page.locator("#palette-results").get_by_role("option").first).to_contain_text(
        "Cron Jobs"
    )
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Cron Jobs")


def test_theme_switch_and_system_dark(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    page.emulate_media(color_scheme="dark")
    page.goto(f"{server.url}/")
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(20, 23, 31)"  # dark by the system setting
    page.get_by_role("button", name="Switch light/dark theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    page.reload()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"


def test_namespace_choice_sticks_per_cluster(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    page.goto(f"{server.url}/c/{cluster.name}/pods")
    page.locator("[data-ns-select]").select_option(["team-b"])
    expect(page).to_have_url(f"{server.url}/c/{cluster.name}/namespaces/team-b/pods")
    page.goto(f"{server.url}/c/{cluster.name}/")
    page.locator(".sidebar").get_by_role("link", name="Services").click()
    expect(page).to_have_url(f"{server.url}/c/{cluster.name}/namespaces/team-b/services")


def test_tablet_width_still_navigable(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    page.set_viewport_size({"width": 800, "height": 1000})
    page.goto(f"{server.url}/c/{cluster.name}/namespaces/team-a/pods")
    expect(page.locator(".sidebar")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 820


def test_detail_page_is_live(page: Page, server: ServerProcess, cluster: RealCluster) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "live-detail"},
        "data": {},
    }
    with kube_client(cluster.kubeconfig()) as kube:
        kube.post("/api/v1/namespaces/team-b/configmaps", json=body)
        try:
            page.goto(f"{server.url}/c/{cluster.name}/namespaces/team-b/configmaps/live-detail")
            expect(page.locator("[data-live-status]")).to_have_text("Live")
            page.evaluate("window.__marker = 'same page'")
            kube.patch(
                "/api/v1/namespaces/team-b/configmaps/live-detail",
                content=b'{"data":{"fresh-key":"fresh-value"}}',
                headers={"Content-Type": "application/merge-patch+json"},
            )
            expect(page.locator("#detail-body")).to_contain_text("fresh-key")
            kube.delete("/api/v1/namespaces/team-b/configmaps/live-detail")
            expect(page.locator("[data-live-status]")).to_have_text("This object was deleted")
            assert page.evaluate("window.__marker") == "same page"
        finally:
            kube.delete("/api/v1/namespaces/team-b/configmaps/live-detail")
