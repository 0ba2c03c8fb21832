"""Chromium: add a cluster by pasting a kubeconfig, browse it, remove it."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.conftest import RealCluster, start_server, stop_server


def test_paste_browse_remove(page: Page, cluster: RealCluster, tmp_path: Path) -> None:
    srv = start_server(
        "--kubeconfig",
        cluster.kubeconfig("admin"),
        "--clusters-file",
        str(tmp_path / "c.yaml"),
        # Off by default outside desktop mode; a single-user server on loopback.
        "--add-clusters",
        "on",
        "--cluster-admins",
        "*",
        "--added-cluster-allow",
        "loopback",
    )
    try:
        page.goto(f"{srv.url}/")
        page.get_by_role("link", name="Add cluster").click()
        page.get_by_label("Kubeconfig").fill(Path(cluster.kubeconfig("bob")).read_text())
        page.get_by_role("button", name="Add").first.click()
        added = f"{cluster.name}-2"  # the name is taken by the admin context
        row = page.locator(f'tr[data-cluster="{added}"]')
        expect(row).to_contain_text("Ready")
        row.get_by_role("link", name=cluster.name).click()
        expect(page).to_have_url(f"{srv.url}/c/{added}/")
        page.goto(f"{srv.url}/c/{added}/namespaces/team-a/secrets")
        expect(page.locator(".error")).to_contain_text("list secrets in namespace team-a")
        page.goto(f"{srv.url}/")
        page.once("dialog", lambda d: d.accept())
        page.locator(f'tr[data-cluster="{added}"]').get_by_role("button", name="Remove").click()
        expect(page.locator(f'tr[data-cluster="{added}"]')).to_have_count(0)
        expect(page.locator(f'tr[data-cluster="{cluster.name}"]')).to_be_visible()
    finally:
        stop_server(srv)
