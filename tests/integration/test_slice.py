"""The first vertical slice against the real control plane: clusters, lists, details, 403s."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import RealCluster

KUBECTL_POD_COLUMNS = ["Name", "Ready", "Status", "Restarts", "Age"]


def test_clusters_json_lists_the_cluster(admin: TestClient, cluster: RealCluster) -> None:
    data = admin.get("/clusters.json").json()
    (entry,) = data["clusters"]
    assert entry["name"] == cluster.name
    assert entry["reachable"] is True
    assert entry["credentialsOk"] is True
    assert entry["version"].startswith("v1.37")


def test_clusters_page_html(admin: TestClient, cluster: RealCluster) -> None:
    page = admin.get("/")
    assert page.status_code == 200
    assert f'href="/c/{cluster.name}/"' in page.text
    assert "Ready" in page.text
    assert 'rel="alternate"' in page.headers["link"]


def test_namespaces_list(admin: TestClient, cluster: RealCluster) -> None:
    data = admin.get(f"/c/{cluster.name}/namespaces.json").json()
    names = {row["name"] for row in data["rows"]}
    assert {"team-a", "team-b", "monitoring", "default", "kube-system"} <= names
    assert [c["name"] for c in data["columns"]] == ["Name", "Status", "Age"]


def test_pods_list_has_kubectl_columns(admin: TestClient, cluster: RealCluster) -> None:
    data = admin.get(f"/c/{cluster.name}/namespaces/team-a/pods.json").json()
    assert [c["name"] for c in data["columns"]] == KUBECTL_POD_COLUMNS
    web = [r for r in data["rows"] if r["name"].startswith("web-")]
    assert len(web) == 3
    assert all(r["cells"][2] == "Running" for r in web)
    assert all(r["cells"][1] == "1/1" for r in web)
    assert web[0]["url"] == f"/c/{cluster.name}/namespaces/team-a/pods/{web[0]['name']}"


def test_all_namespaces_adds_namespace_column(admin: TestClient, cluster: RealCluster) -> None:
    data = admin.get(f"/c/{cluster.name}/pods", headers={"Accept": "application/json"}).json()
    assert [c["name"] for c in data["columns"]] == ["Namespace", *KUBECTL_POD_COLUMNS]
    namespaces = {r["cells"][0] for r in data["rows"]}
    assert {"team-a", "team-b", "monitoring"} <= namespaces


def test_pods_page_html_links_to_details(admin: TestClient, cluster: RealCluster) -> None:
    page = admin.get(f"/c/{cluster.name}/namespaces/team-a/pods")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f'href="/c/{cluster.name}/namespaces/team-a/pods/web-' in page.text
    assert "<th" in page.text and "Restarts" in page.text


def test_pagination_with_continue(admin: TestClient, cluster: RealCluster) -> None:
    first = admin.get(f"/c/{cluster.name}/pods.json?limit=2").json()
    assert len(first["rows"]) == 2 and first["continue"]
    second = admin.get(
        f"/c/{cluster.name}/pods.json", params={"limit": "2", "continue": first["continue"]}
    ).json()
    assert {r["name"] for r in first["rows"]}.isdisjoint({r["name"] for r in second["rows"]})


def test_pod_detail_json_and_yaml(admin: TestClient, cluster: RealCluster) -> None:
    rows = admin.get(f"/c/{cluster.name}/namespaces/team-a/pods.json").json()["rows"]
    name = next(r["name"] for r in rows if r["name"].startswith("web-"))
    data = admin.get(f"/c/{cluster.name}/namespaces/team-a/pods/{name}.json").json()
    assert data["object"]["kind"] == "Pod"
    assert data["object"]["metadata"]["name"] == name
    assert "managedFields" not in data["object"]["metadata"]
    full = admin.get(f"/c/{cluster.name}/namespaces/team-a/pods/{name}.json?managedFields=1")
    assert "managedFields" in full.json()["object"]["metadata"]
    page = admin.get(f"/c/{cluster.name}/namespaces/team-a/pods/{name}")
    assert "kind: Pod" in page.text
    assert f"name: {name}" in page.text


def test_custom_resource_printer_columns(admin: TestClient, cluster: RealCluster) -> None:
    data = admin.get(f"/c/{cluster.name}/namespaces/team-a/widgets.example.com.json").json()
    names = [c["name"] for c in data["columns"]]
    assert names[:4] == ["Name", "Color", "Size", "Phase"]
    assert len(data["rows"]) == 2


def test_bob_is_refused_secrets_with_verb_and_resource(
    bob: TestClient, cluster: RealCluster
) -> None:
    resp = bob.get(f"/c/{cluster.name}/namespaces/team-a/secrets.json")
    assert resp.status_code == 403
    err = resp.json()["error"]
    assert err["reason"] == "Forbidden"
    assert (err["verb"], err["resource"], err["namespace"]) == ("list", "secrets", "team-a")
    assert 'User "bob"' in err["message"]
    page = bob.get(f"/c/{cluster.name}/namespaces/team-a/secrets")
    assert page.status_code == 403
    assert "You may not <strong>list secrets in namespace team-a</strong>" in page.text
    assert "Traceback" not in page.text


def test_bob_may_read_pods_everywhere(bob: TestClient, cluster: RealCluster) -> None:
    assert bob.get(f"/c/{cluster.name}/namespaces/team-b/pods.json").status_code == 200
    assert bob.get(f"/c/{cluster.name}/pods.json").status_code == 200


def test_alice_only_in_team_a(alice: TestClient, cluster: RealCluster) -> None:
    assert alice.get(f"/c/{cluster.name}/namespaces/team-a/pods.json").status_code == 200
    refused = alice.get(f"/c/{cluster.name}/namespaces/team-b/pods.json")
    assert refused.status_code == 403
    assert refused.json()["error"]["namespace"] == "team-b"
    assert alice.get(f"/c/{cluster.name}/namespaces.json").status_code == 403


def test_unknown_kind_cluster_and_object(admin: TestClient, cluster: RealCluster) -> None:
    resp = admin.get(f"/c/{cluster.name}/gizmos.example.com.json")
    assert resp.status_code == 404
    assert resp.json()["error"]["reason"] == "UnknownResource"
    assert admin.get("/c/nope/pods.json").json()["error"]["reason"] == "UnknownCluster"
    missing = admin.get(f"/c/{cluster.name}/namespaces/team-a/pods/does-not-exist.json")
    assert missing.status_code == 404
    assert missing.json()["error"]["reason"] == "NotFound"
