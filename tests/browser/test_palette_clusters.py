"""Ctrl-K on the clusters page searches every cluster, not the first row's.

Two contexts on the one test control plane: ``aa-carol`` (listed first; carol
may read nothing in ``monitoring``) and ``zz-admin``. The DaemonSet
``node-exporter`` is visible through the second only, so a palette that
searched the first listed cluster finds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.conftest import RealCluster, ServerProcess, start_server, stop_server

pytestmark = [pytest.mark.cluster, pytest.mark.browser]


def merged_kubeconfig(cluster: RealCluster, target: Path) -> Path:
    """One kubeconfig with carol's and admin's contexts under names of our own."""
    out: dict[str, object] = {"apiVersion": "v1", "kind": "Config"}
    clusters, users, contexts = [], [], []
    for context, user in (("aa-carol", "carol"), ("zz-admin", "admin")):
        doc = yaml.safe_load(Path(cluster.kubeconfig(user)).read_text())
        clusters.append({"name": context, "cluster": doc["clusters"][0]["cluster"]})
        users.append({"name": context, "user": doc["users"][0]["user"]})
        contexts.append({"name": context, "context": {"cluster": context, "user": context}})
    out.update(clusters=clusters, users=users, contexts=contexts)
    out["current-context"] = "aa-carol"
    target.write_text(yaml.safe_dump(out))
    return target


@pytest.fixture(scope="module")
def two(cluster: RealCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    path = merged_kubeconfig(cluster, tmp_path_factory.mktemp("palette") / "kubeconfig")
    srv = start_server("--kubeconfig", str(path))
    yield srv
    stop_server(srv)


def test_palette_on_the_clusters_page_searches_every_cluster(
    page: Page, two: ServerProcess
) -> None:
    page.goto(f"{two.url}/")
    expect(page.locator("tr[data-cluster]")).to_have_count(2)
    assert page.locator("tr[data-cluster]").first.get_attribute("data-cluster") == "aa-carol"
    page.keyboard.press("Control+k")
    page.get_by_role("combobox", name="Search kinds and objects").type("node-exporter")
    option = page.locator("#palette-results").get_by_role("option").filter(has_text="zz-admin")
    expect(option.filter(has_text="node-exporter").first).to_be_visible()
    option.filter(has_text="node-exporter").first.click()
    expect(page).to_have_url(
        f"{two.url}/c/zz-admin/namespaces/monitoring/daemonsets.apps/node-exporter"
    )


def test_palette_inside_a_cluster_searches_that_cluster(page: Page, two: ServerProcess) -> None:
    page.goto(f"{two.url}/c/aa-carol/")
    page.keyboard.press("Control+k")
    page.get_by_role("combobox", name="Search kinds and objects").type("cronj")
    results = page.locator("#palette-results").get_by_role("option")
    expect(results.first).to_contain_text("Cron Jobs")
    # This cluster's search only: hits of a cross-cluster search name their cluster.
    expect(results.filter(has_text="zz-admin")).to_have_count(0)
