"""Issue 3 navigation and lists against the real control plane, as admin, alice and bob."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml
from starlette.testclient import TestClient

from kubelantern.app import create_app
from tests.conftest import RealCluster, make_settings
from tests.kube import kube_client, pod_manifest


def sidebar_entries(page: str) -> str:
    start = page.index('<nav class="sidebar"')
    return page[start : page.index("</nav>", start)]


def test_sidebar_groups_kinds_from_discovery(admin: TestClient, cluster: RealCluster) -> None:
    nav = sidebar_entries(admin.get(f"/c/{cluster.name}/namespaces/team-a/pods").text)
    for title in ("Cluster", "Workloads", "Network", "Storage", "Configuration", "Access control"):
        assert f"<h3>{title}</h3>" in nav
    assert "<h3>Custom: example.com</h3>" in nav
    assert f'href="/c/{cluster.name}/namespaces/team-a/widgets.example.com"' in nav
    assert f'href="/c/{cluster.name}/nodes"' in nav  # cluster-scoped: no namespace
    assert "not permitted" not in nav  # admin may list everything


def test_sidebar_marks_what_bob_may_not_list(bob: TestClient, cluster: RealCluster) -> None:
    nav = sidebar_entries(bob.get(f"/c/{cluster.name}/namespaces/team-a/pods").text)
    secrets = nav[nav.index('data-kind="secrets"') - 200 : nav.index('data-kind="secrets"') + 300]
    assert 'class="denied"' in secrets and "not permitted" in secrets
    pods = nav[nav.index('data-kind="pods"') - 200 : nav.index('data-kind="pods"') + 200]
    assert "denied" not in pods


def test_namespace_chooser_lists_namespaces(admin: TestClient, cluster: RealCluster) -> None:
    page = admin.get(f"/c/{cluster.name}/namespaces/team-a/pods").text
    assert '<option value="team-b"' in page
    assert '<option value="team-a" selected>' in page


def test_several_namespaces_at_once(admin: TestClient, cluster: RealCluster) -> None:
    data = admin.get(f"/c/{cluster.name}/pods.json?namespaces=team-b,monitoring").json()
    assert data["namespaces"] == ["team-b", "monitoring"]
    assert {r["namespace"] for r in data["rows"]} == {"team-b", "monitoring"}
    assert data["columns"][0]["name"] == "Namespace"


def test_alice_without_namespace_list_rights_gets_a_working_ui(
    alice: TestClient, cluster: RealCluster
) -> None:
    # All namespaces is forbidden to alice, and nothing tells us where she works yet.
    refused = alice.get(f"/c/{cluster.name}/pods.json")
    assert refused.status_code == 403
    # Once she entered team-a in the chooser (a cookie), lists run per namespace.
    alice.cookies.set(f"kl_known_ns.{cluster.name}", "team-a")
    try:
        data = alice.get(f"/c/{cluster.name}/pods.json").json()
        assert {r["namespace"] for r in data["rows"]} == {"team-a"}
        assert "may not list pods in all namespaces" in data["note"]
        page = alice.get(f"/c/{cluster.name}/namespaces/team-a/pods").text
        assert "You may not list namespaces" in page
        assert '<option value="team-a" selected>' in page
    finally:
        alice.cookies.delete(f"kl_known_ns.{cluster.name}")


def test_configured_namespaces_are_offered(cluster: RealCluster) -> None:
    settings = make_settings(cluster.kubeconfig("alice"), namespaces=("team-a",))
    with TestClient(create_app(settings)) as client:
        data = client.get(f"/c/{cluster.name}/deployments.apps.json").json()
        assert [r["name"] for r in data["rows"]] == ["web"]


def test_text_filter_scans_the_whole_list(admin: TestClient, cluster: RealCluster) -> None:
    data = admin.get(f"/c/{cluster.name}/pods.json?q=ImagePull").json()
    assert [r["name"] for r in data["rows"]] == ["broken"]
    by_ns = admin.get(f"/c/{cluster.name}/pods.json?q=monitoring").json()
    assert by_ns["rows"] and all(r["namespace"] == "monitoring" for r in by_ns["rows"])
    none = admin.get(f"/c/{cluster.name}/pods.json?q=no-such-thing-anywhere").json()
    assert none["rows"] == []


def test_text_filter_pages_with_its_own_continue(admin: TestClient, cluster: RealCluster) -> None:
    first = admin.get(f"/c/{cluster.name}/pods.json?q=web&limit=2").json()
    assert len(first["rows"]) == 2 and first["continue"]
    rest = admin.get(
        f"/c/{cluster.name}/pods.json",
        params={"q": "web", "limit": "2", "continue": first["continue"]},
    ).json()
    names = [r["name"] for r in first["rows"] + rest["rows"]]
    assert len(names) == len(set(names)) == 3


def test_label_and_field_selectors(admin: TestClient, cluster: RealCluster) -> None:
    web = admin.get(f"/c/{cluster.name}/namespaces/team-a/pods.json?labelSelector=app=web").json()
    assert len(web["rows"]) == 3
    running = admin.get(
        f"/c/{cluster.name}/namespaces/team-a/pods.json?fieldSelector=status.phase=Running"
    ).json()
    assert "broken" not in {r["name"] for r in running["rows"]}
    bad = admin.get(f"/c/{cluster.name}/pods.json?labelSelector=a=b=c")
    assert bad.status_code == 400


def test_sort_by_any_column(admin: TestClient, cluster: RealCluster) -> None:
    url = f"/c/{cluster.name}/namespaces/team-a/pods.json"
    desc = admin.get(url + "?sort=-Name").json()["rows"]
    names = [r["name"] for r in desc]
    assert names == sorted(names, reverse=True)
    by_status = [r["cells"][2] for r in admin.get(url + "?sort=Status").json()["rows"]]
    assert by_status == sorted(by_status, key=str.lower)
    assert admin.get(url + "?sort=Nope").status_code == 400


def test_palette_search_finds_kinds_and_objects(admin: TestClient, cluster: RealCluster) -> None:
    kinds = admin.get(f"/c/{cluster.name}/-/search.json?q=deploy").json()["results"]
    assert kinds[0]["type"] == "kind" and kinds[0]["label"] == "Deployments"
    hits = admin.get(f"/c/{cluster.name}/-/search.json?q=node-exporter").json()["results"]
    urls = {h["url"] for h in hits}
    assert f"/c/{cluster.name}/namespaces/monitoring/daemonsets.apps/node-exporter" in urls
    widgets = admin.get(f"/c/{cluster.name}/-/search.json?q=widget").json()["results"]
    assert any(h["type"] == "kind" and "widgets.example.com" in h["url"] for h in widgets)


def test_search_respects_rbac(
    client_for: Callable[[str], TestClient], cluster: RealCluster
) -> None:
    bob = client_for("bob")
    hits = bob.get(f"/c/{cluster.name}/-/search.json?q=db-password").json()["results"]
    assert not [h for h in hits if h["type"] == "object"]  # bob may not list secrets
    admin = client_for("admin")
    hits = admin.get(f"/c/{cluster.name}/-/search.json?q=db-password").json()["results"]
    assert [h["label"] for h in hits if h["type"] == "object"] == ["db-password"]


def test_global_search_across_clusters(admin: TestClient, cluster: RealCluster) -> None:
    hits = admin.get("/-/search.json?q=web-config").json()["results"]
    assert any(h["url"].endswith("/namespaces/team-a/configmaps/web-config") for h in hits)


def test_list_page_is_live_ready(admin: TestClient, cluster: RealCluster) -> None:
    page = admin.get(f"/c/{cluster.name}/namespaces/team-a/pods").text
    assert "data-live-table" in page
    assert f"/c/{cluster.name}/-/watch?resource=pods" in page


def test_watch_needs_a_kind(admin: TestClient, cluster: RealCluster) -> None:
    resp = admin.get(f"/c/{cluster.name}/-/watch.json")
    assert resp.status_code == 400


def test_created_pod_shows_up_in_a_fresh_list(admin: TestClient, cluster: RealCluster) -> None:
    with kube_client(cluster.kubeconfig()) as kube:
        kube.post("/api/v1/namespaces/team-b/pods", json=pod_manifest("probe-list", "team-b"))
        try:
            data = admin.get(f"/c/{cluster.name}/namespaces/team-b/pods.json").json()
            assert "probe-list" in {r["name"] for r in data["rows"]}
        finally:
            kube.delete("/api/v1/namespaces/team-b/pods/probe-list?gracePeriodSeconds=0")


def test_refused_credentials_get_a_clear_page(cluster: RealCluster, tmp_path: Path) -> None:
    doc = yaml.safe_load(Path(cluster.kubeconfig()).read_text())
    user = doc["users"][0]["user"]
    user.pop("client-certificate-data", None)
    user.pop("client-key-data", None)
    user["token"] = "expired-or-revoked-token"
    path = tmp_path / "expired.yaml"
    path.write_text(yaml.safe_dump(doc))
    with TestClient(create_app(make_settings(str(path))), raise_server_exceptions=False) as c:
        resp = c.get(f"/c/{cluster.name}/pods.json")
        assert resp.status_code == 401
        assert resp.json()["error"]["reason"] == "Unauthorized"
        page = c.get(f"/c/{cluster.name}/pods")
        assert "Your credentials were not accepted" in page.text
        assert "expired-or-revoked-token" not in page.text
        probe = c.get("/clusters.json").json()["clusters"][0]
        assert probe["reachable"] is True and probe["credentialsOk"] is False


def test_per_cluster_display_name_and_default_namespace(cluster: RealCluster) -> None:
    settings = make_settings(
        cluster.kubeconfig(),
        cluster_names=(f"{cluster.name}=Test cluster",),
        cluster_namespaces=(f"{cluster.name}=team-b",),
    )
    with TestClient(create_app(settings)) as client:
        (entry,) = client.get("/clusters.json").json()["clusters"]
        assert entry["displayName"] == "Test cluster"
        assert entry["defaultNamespace"] == "team-b"
        page = client.get(f"/c/{cluster.name}/").text
        assert f'href="/c/{cluster.name}/namespaces/team-b/pods"' in page
