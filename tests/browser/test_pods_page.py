"""Open the pods page in Chromium and find a seeded pod."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.conftest import RealCluster, ServerProcess


def test_pods_page_shows_seeded_pod(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    page.goto(f"{server.url}/")
    page.get_by_role("link", name=cluster.name).click()
    page.get_by_role("link", name="Pods").click()
    expect(page.locator("h1")).to_contain_text("Pod")
    row = page.locator('tr[data-namespace="team-a"][data-name^="web-"]').first
    expect(row).to_be_visible()
    row.get_by_role("link").click()
    expect(page.locator("#yaml")).to_contain_text("kind: Pod")
