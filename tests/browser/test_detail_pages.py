"""Detail pages in Chromium: owner links, secret reveal, and the live body fragment."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.conftest import RealCluster, ServerProcess
from tests.kube import kube_client


def test_pod_owner_links_lead_to_the_deployment(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    rows = httpx.get(f"{server.url}/c/{cluster.name}/namespaces/team-a/pods.json").json()["rows"]
    pod = next(r for r in rows if r["name"].startswith("web-"))
    page.goto(f"{server.url}{pod['url']}")
    expect(page.locator("#pod-status")).to_have_text("Running")

    page.locator('#owners a[data-kind="ReplicaSet"]').click()
    expect(page.locator("h1")).to_contain_text("ReplicaSet")
    expect(page.locator('#related-pods tr[data-name="' + pod["name"] + '"]')).to_be_visible()

    page.locator('#owners a[data-kind="Deployment"]').click()
    expect(page.locator("h1")).to_contain_text("Deployment web")
    replicas = page.locator("#replicas")
    expect(replicas).to_be_visible()
    expect(replicas.locator('[data-counter="desired"] .value')).to_have_text("3")
    expect(replicas.locator('[data-counter="available"] .value')).to_have_text("3")
    expect(page.locator("#rollout")).to_contain_text('deployment "web" successfully rolled out')


def test_secret_value_is_revealed_on_request(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    page.goto(f"{server.url}/c/{cluster.name}/namespaces/team-a/secrets/db-password")
    row = page.locator('#secret-keys tr[data-key="password"]')
    expect(row).to_contain_text("19 bytes")
    expect(page.locator("body")).not_to_contain_text("not-a-real-password")
    row.get_by_role("link", name="Reveal").click()
    expect(row.locator("pre.secret-value")).to_have_text("not-a-real-password")
    expect(page).to_have_url(f"{server.url}/c/{cluster.name}/namespaces/team-a/secrets/db-password")


def test_body_refreshes_as_a_fragment(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    kube = kube_client(cluster.kubeconfig("admin"))
    path = "/api/v1/namespaces/team-a/configmaps/kl-detail-live"
    kube.delete(path)
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "kl-detail-live", "namespace": "team-a"},
        "data": {"first": "1"},
    }
    assert kube.post("/api/v1/namespaces/team-a/configmaps", json=body).status_code == 201
    try:
        page.goto(f"{server.url}/c/{cluster.name}/namespaces/team-a/configmaps/kl-detail-live")
        expect(page.locator('.data-key[data-key="first"]')).to_be_visible()
        patched = kube.patch(
            path,
            json={"data": {"second": "22"}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert patched.status_code == 200
        page.evaluate("htmx.trigger('#detail-body', 'kl:refresh')")
        expect(page.locator('.data-key[data-key="second"]')).to_contain_text("2 bytes")
        expect(page.locator("nav.sidebar")).to_have_count(1)  # only the body was swapped
    finally:
        kube.delete(path)
        kube.close()
