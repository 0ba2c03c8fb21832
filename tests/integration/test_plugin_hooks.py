"""Every page hook on real cluster pages (tests/plugins/everything.py), and a plugin that
fails in all of them (tests/plugins/faulty.py) without taking a page down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from kubelantern.testing import csrf_headers, make_app
from tests.conftest import RealCluster
from tests.integration.operate_kit import Kube
from tests.plugins import everything, faulty


@pytest.fixture(scope="module")
def apps(cluster: RealCluster) -> Iterator[dict[str, TestClient]]:
    clients = {
        user: make_app(plugins=[everything], kubeconfig=cluster.kubeconfig(user))
        for user in ("admin", "alice", "bob")
    }
    clients["faulty"] = make_app(plugins=[faulty], kubeconfig=cluster.kubeconfig("admin"))
    for tc in clients.values():
        tc.__enter__()
    yield clients
    for tc in clients.values():
        tc.__exit__(None, None, None)


def configmap(cluster: RealCluster, name: str = "web-config") -> str:
    return f"/c/{cluster.name}/namespaces/team-a/configmaps/{name}"


def test_columns_are_added_moved_and_kept_in_step(
    apps: dict[str, TestClient], cluster: RealCluster
) -> None:
    data = apps["alice"].get(f"/c/{cluster.name}/namespaces/team-a/configmaps.json").json()
    names = [c["name"] for c in data["columns"]]
    assert names == ["Age", "Name", "Letters", "Data"]
    row = next(r for r in data["rows"] if r["name"] == "web-config")
    assert row["cells"][1:3] == ["web-config", 10]
    page = apps["alice"].get(f"/c/{cluster.name}/namespaces/team-a/configmaps").text
    assert '<td><a href="/c/' in page  # the Name cell is still the link


def test_sidebar_entries_and_processor(apps: dict[str, TestClient], cluster: RealCluster) -> None:
    page = apps["bob"].get(f"/c/{cluster.name}/namespaces/team-a/pods").text
    plugins = page.split("<h3>Plugins</h3>")[1].split("</ul>")[0]
    assert 'href="/-/p/everything/"' in plugins and ">Everything<" in plugins
    assert 'data-kind="events"' not in page  # removed by process_sidebar
    assert 'data-kind="pods"' in page


def test_detail_sections_placed_escaped_and_processed(
    apps: dict[str, TestClient], cluster: RealCluster
) -> None:
    page = apps["bob"].get(configmap(cluster)).text
    assert page.index("<p data-first>web-config</p>") < page.index('id="metadata"')
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert 'id="events"' not in page  # hidden by process_detail_sections
    assert 'id="yaml-section"' in page
    data = apps["bob"].get(configmap(cluster) + ".json").json()
    assert data["hiddenSections"] == ["events"]
    assert [(s["title"], s["after"]) for s in data["pluginSections"]] == [
        ("Everything first", ""),
        ("Plain", "related"),
    ]
    assert data["pluginSections"][1]["data"] == {"n": "web-config"}
    assert "html" not in data["pluginSections"][0]  # the JSON twin carries data, not markup
    fragment = (
        apps["bob"].get(configmap(cluster) + "?fragment=1", headers={"HX-Request": "true"}).text
    )
    assert "<p data-first>web-config</p>" in fragment  # live refreshes keep them


def test_actions_added_and_processed(apps: dict[str, TestClient], cluster: RealCluster) -> None:
    names = [a["name"] for a in apps["alice"].get(configmap(cluster) + ".json").json()["actions"]]
    assert "everything.touch" in names and "delete" not in names
    page = apps["alice"].get(configmap(cluster)).text
    assert 'hx-confirm="Touch this ConfigMap?"' in page


def test_an_action_without_checks_is_refused_by_the_api_server(
    apps: dict[str, TestClient], cluster: RealCluster
) -> None:
    r = apps["bob"].post(
        configmap(cluster) + "/actions/everything.touch",
        json={},
        headers={**csrf_headers(apps["bob"]), "Accept": "application/json"},
    )
    assert r.status_code == 403
    error = r.json()["error"]
    assert 'User "bob" cannot patch resource "configmaps"' in error["message"]
    assert error["refused"] == "patch configmaps in namespace team-a"


def test_an_action_runs_with_the_users_credentials(
    apps: dict[str, TestClient], cluster: RealCluster
) -> None:
    kube = Kube(cluster)
    try:
        r = apps["alice"].post(
            configmap(cluster) + "/actions/everything.touch",
            json={},
            headers={**csrf_headers(apps["alice"]), "Accept": "application/json"},
        )
        assert r.status_code == 200 and r.json()["message"] == "Touched web-config"
        labels = kube.must("/api/v1/namespaces/team-a/configmaps/web-config")["metadata"]["labels"]
        assert "touched" in labels
        managed = kube.must("/api/v1/namespaces/team-a/configmaps/web-config")["metadata"]
        assert any(m["manager"] == "kubelantern" for m in managed["managedFields"])
    finally:
        kube.http.patch(
            "/api/v1/namespaces/team-a/configmaps/web-config",
            content=b'{"metadata":{"labels":{"touched":null}}}',
            headers={"Content-Type": "application/merge-patch+json"},
        )
        kube.close()
    events = [e for e in everything.EVENTS if e.name == "action.done"]
    assert events and events[-1].object_name == "web-config"
    assert events[-1].data["action"] == "everything.touch"


def test_an_action_nobody_offered_is_refused(
    apps: dict[str, TestClient], cluster: RealCluster
) -> None:
    url = f"/c/{cluster.name}/namespaces/team-a/deployments.apps/web/actions/everything.touch"
    r = apps["admin"].post(
        url, json={}, headers={**csrf_headers(apps["admin"]), "Accept": "application/json"}
    )
    assert r.status_code == 400
    assert (
        r.json()["error"]["message"] == "There is no action 'everything.touch' for Deployment web."
    )


def test_a_cluster_route_acts_as_the_user(
    apps: dict[str, TestClient], cluster: RealCluster
) -> None:
    info = apps["admin"].get(f"/-/p/everything/c/{cluster.name}/info").json()
    assert info == {"cluster": cluster.name, "replicas": 3, "mayPatch": True, "widgets": 2}
    r = apps["bob"].get(f"/-/p/everything/c/{cluster.name}/info.json")
    assert r.status_code == 403  # bob may read the Deployment, not list widgets
    assert r.json()["error"]["refused"] == "list widgets.example.com in namespace team-a"
    assert apps["bob"].get("/-/p/everything/c/nosuch/info.json").status_code == 404


def test_list_and_detail_events(apps: dict[str, TestClient], cluster: RealCluster) -> None:
    everything.EVENTS.clear()
    apps["bob"].get(f"/c/{cluster.name}/namespaces/team-a/configmaps")
    apps["bob"].get(configmap(cluster))
    seen = [(e.name, e.resource, e.namespace) for e in everything.EVENTS]
    assert ("list.viewed", "configmaps", "team-a") in seen
    assert ("detail.viewed", "configmaps", "team-a") in seen


def test_a_faulty_plugin_takes_no_page_down(
    apps: dict[str, TestClient], cluster: RealCluster
) -> None:
    tc = apps["faulty"]
    listing = tc.get(f"/c/{cluster.name}/namespaces/team-a/deployments.apps.json")
    assert listing.status_code == 200
    names = [c["name"] for c in listing.json()["columns"]]
    assert names[:2] == ["Name", "Ready"]  # its change was undone
    page = tc.get(f"/c/{cluster.name}/namespaces/team-a/deployments.apps/web")
    assert page.status_code == 200 and 'class="sidebar"' in page.text
    assert "data-plugin-problems" in page.text
    offered = [a["name"] for a in tc.get(configmap(cluster) + ".json").json()["actions"]]
    assert "faulty.explode" in offered
    r = tc.post(
        configmap(cluster) + "/actions/faulty.explode",
        json={},
        headers={**csrf_headers(tc), "Accept": "application/json"},
    )
    assert r.status_code == 500
    assert r.json()["error"]["message"] == (
        "Explode (plugin faulty) failed: ValueError: the handler exploded. It was logged."
    )
    where = {p["where"] for p in tc.get("/-/plugins.json").json()["problems"]}
    assert {
        "column processor half",
        "detail_sections",
        "register_sidebar_entries",
        "object_actions",
        "action explode",
    } <= where
