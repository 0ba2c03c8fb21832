"""In Chromium: an export from a list's menu; roll back, diff and upgrade a Helm release."""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.conftest import RealCluster, ServerProcess, start_server, stop_server
from tests.helmkit import helm_binary
from tests.integration.operate_kit import Kube, unique

CHARTS = Path(__file__).resolve().parents[1] / "data" / "helm"


@pytest.fixture(scope="module")
def kube(cluster: RealCluster) -> Iterator[Kube]:
    k = Kube(cluster)
    yield k
    k.close()


@pytest.fixture(scope="module")
def helm_server(cluster: RealCluster) -> Iterator[ServerProcess]:
    srv = start_server("--kubeconfig", cluster.kubeconfig("admin"), "--helm-binary", helm_binary())
    yield srv
    stop_server(srv)


def test_export_menu_downloads_every_page(
    page: Page, server: ServerProcess, cluster: RealCluster, kube: Kube
) -> None:
    tag = unique("exp")
    names = [f"{tag}-{i}" for i in range(3)]
    for name in names:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "team-a", "labels": {"export-ui": tag}},
            "data": {"k": "v"},
        }
        kube.apply(body, f"/api/v1/namespaces/team-a/configmaps/{name}")
    try:
        base = f"{server.url}/c/{cluster.name}/namespaces/team-a/configmaps"
        page.goto(f"{base}?labelSelector=export-ui%3D{tag}&limit=1")
        expect(page.locator("a[rel=next]")).to_be_visible()  # the page shows one row of three
        page.get_by_text("Export", exact=True).click()
        with page.expect_download() as info:
            page.locator('a[data-export="yaml"]').click()
        download = info.value
        assert download.suggested_filename == "configmaps-team-a.yaml"
        doc = yaml.safe_load(Path(download.path()).read_text())
        assert doc["kind"] == "List"
        assert sorted(i["metadata"]["name"] for i in doc["items"]) == names
        with page.expect_download() as info:
            page.locator('a[data-export="csv"]').click()
        rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text())))
        assert rows[0][0] == "Name" and sorted(r[0] for r in rows[1:]) == names
    finally:
        for name in names:
            kube.delete(f"/api/v1/namespaces/team-a/configmaps/{name}")


def helm(cluster: RealCluster, *args: str) -> None:
    subprocess.run(
        [helm_binary(), *args, "--kubeconfig", cluster.kubeconfig("admin")],
        capture_output=True,
        timeout=300,
        check=True,
        env={"HOME": "/tmp", "PATH": "/usr/bin:/bin"},
    )


def test_helm_release_rollback_diff_upgrade(
    page: Page, helm_server: ServerProcess, cluster: RealCluster
) -> None:
    name = unique("ui-rel")
    helm(cluster, "install", name, str(CHARTS / "demo-v1"), "-n", "team-a")
    helm(cluster, "upgrade", name, str(CHARTS / "demo-v2"), "-n", "team-a")
    try:
        page.goto(f"{helm_server.url}/c/{cluster.name}/namespaces/team-a/helm")
        row = page.locator(f'tr[data-release="team-a/{name}"]')
        expect(row).to_contain_text("demo-0.2.0")
        row.get_by_role("link", name=name).click()
        expect(page.locator("[data-chart]")).to_have_text("demo-0.2.0")
        page.get_by_label("Revision to roll back to").select_option("1")
        page.locator('[data-action="helm-rollback"]').click()
        expect(page.locator('[data-helm-done="rollback"]')).to_be_visible(timeout=60000)
        expect(page.locator("[data-revision]")).to_have_text("3")
        expect(page.locator("[data-chart]")).to_have_text("demo-0.1.0")
        form = page.locator("[data-helm-diff]")
        form.locator('select[name="from"]').select_option("2")
        form.locator('select[name="to"]').select_option("3")
        form.get_by_role("button", name="Diff").click()
        expect(page.locator('[data-diff="manifest"] .diff-del').first).to_be_visible()
        expect(page.locator('[data-diff="manifest"]')).to_contain_text('-  chart: "0.2.0"')
        # Upgrade with edited values: a new revision with them.
        page.get_by_label("User-supplied values (YAML)").fill("greeting: from chromium\n")
        page.locator('[data-action="helm-upgrade"]').click()
        expect(page.locator('[data-helm-done="upgrade"]')).to_be_visible(timeout=60000)
        expect(page.locator("[data-revision]")).to_have_text("4")
        expect(page.get_by_label("User-supplied values (YAML)")).to_have_value(
            "greeting: from chromium\n"
        )
    finally:
        subprocess.run(
            [
                helm_binary(),
                "uninstall",
                name,
                "-n",
                "team-a",
                "--kubeconfig",
                cluster.kubeconfig(),
            ],
            capture_output=True,
            timeout=300,
            check=False,
            env={"HOME": "/tmp", "PATH": "/usr/bin:/bin"},
        )
