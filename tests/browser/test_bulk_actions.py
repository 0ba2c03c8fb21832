"""Tick rows, act on them at once; and the row menu, in Chromium."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.conftest import RealCluster, ServerProcess, wait_until
from tests.kube import kube_client

pytestmark = [pytest.mark.cluster, pytest.mark.browser]


@pytest.fixture
def three(cluster: RealCluster) -> Iterator[tuple[str, list[str]]]:
    """Three ConfigMaps in team-b with a label of their own."""
    label = f"bulk-{uuid.uuid4().hex[:6]}"
    names = [f"{label}-{i}" for i in range(3)]
    with kube_client(cluster.kubeconfig()) as kube:
        for name in names:
            body = {"metadata": {"name": name, "labels": {"bulk": label}}, "data": {}}
            kube.post("/api/v1/namespaces/team-b/configmaps", json=body).raise_for_status()
        yield label, names
        for name in names:
            kube.delete(f"/api/v1/namespaces/team-b/configmaps/{name}")


def accept(dialog: Dialog) -> None:
    dialog.accept()


def test_select_all_then_delete_selected(
    page: Page, server: ServerProcess, cluster: RealCluster, three: tuple[str, list[str]]
) -> None:
    label, names = three
    page.on("dialog", accept)
    page.goto(
        f"{server.url}/c/{cluster.name}/namespaces/team-b/configmaps?labelSelector=bulk%3D{label}"
    )
    delete = page.locator('[data-bulk-action="delete"]')
    expect(delete).to_be_disabled()
    page.get_by_label("Select all rows on this page").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("3 selected")
    page.get_by_label(f"Select {names[0]}").uncheck()
    expect(page.locator("[data-bulk-count]")).to_have_text("2 selected")
    delete.click()
    expect(page.locator("h1")).to_contain_text("Delete")
    expect(page.locator('#bulk-results tr[data-result="ok"]')).to_have_count(2)
    expect(page.locator(f'#bulk-results tr[data-name="{names[0]}"]')).to_have_count(0)
    with kube_client(cluster.kubeconfig()) as kube:
        path = "/api/v1/namespaces/team-b/configmaps/"
        wait_until(lambda: kube.get(path + names[1]).status_code == 404, 30, "deleted")
        assert kube.get(path + names[0]).status_code == 200
    page.get_by_role("link", name="Back to Config Maps").click()
    expect(page.locator("h1")).to_contain_text("Config Maps")


def test_row_menu_delete(
    page: Page, server: ServerProcess, cluster: RealCluster, three: tuple[str, list[str]]
) -> None:
    label, names = three
    page.on("dialog", accept)
    page.goto(
        f"{server.url}/c/{cluster.name}/namespaces/team-b/configmaps?labelSelector=bulk%3D{label}"
    )
    row = page.locator(f'tr[data-name="{names[2]}"]')
    row.get_by_label(f"Actions for {names[2]}").click()
    expect(row.get_by_role("link", name="Edit YAML")).to_be_visible()
    row.get_by_role("button", name="Delete").click()
    expect(page.locator(f'tr[data-name="{names[2]}"]')).to_have_count(0)
    expect(page.locator(f'tr[data-name="{names[1]}"]')).to_be_visible()
