"""Issue 3, the cluster overview: each part as admin, and degraded for alice and bob."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.conftest import RealCluster


def overview(client: TestClient, cluster: RealCluster) -> dict[str, Any]:
    """The overview's JSON twin, by content negotiation and at the URL the page links."""
    resp = client.get(f"/c/{cluster.name}/", headers={"Accept": "application/json"})
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    link = client.get(f"/c/{cluster.name}/").headers["link"]
    twin_url = link[link.index("<") + 1 : link.index(">")]
    twin = client.get(twin_url).json()
    assert twin.keys() == data.keys() and twin["nodes"] == data["nodes"]
    return data


def test_admin_sees_every_part(admin: TestClient, cluster: RealCluster) -> None:
    data = overview(admin, cluster)
    assert data["cluster"]["version"].startswith("v1.37")
    assert data["nodes"] == {
        "ready": 2,
        "total": 2,
        "notReady": [],
        "error": "",
        "forbidden": False,
    }
    pods = data["pods"]
    assert pods["error"] == "" and pods["namespaces"] is None
    assert pods["byPhase"]["Running"] >= 10  # web 3, db 2, api 2, node-exporter 2, prometheus
    assert pods["byPhase"]["Pending"] >= 1  # broken
    assert pods["byPhase"]["Succeeded"] >= 1  # migrate
    assert sum(pods["byPhase"].values()) == pods["total"]
    cpu = data["capacity"]["resources"]["cpu"]
    # Seeded requests: web 3x100m, api 2x200m, node-exporter 2x50m, prometheus 500m (+ tests).
    assert cpu["allocatable"] == "64" and cpu["requested"].endswith("m")
    assert int(cpu["requested"][:-1]) >= 1300
    memory = data["capacity"]["resources"]["memory"]
    assert memory["allocatable"] == "512Gi" and 0 < memory["percent"] < 100
    warnings = data["warnings"]["items"]
    assert warnings and all(w["type"] == "Warning" for w in warnings)
    broken = [w for w in warnings if w["object"] == "Pod/broken"]
    assert broken and broken[0]["url"] == f"/c/{cluster.name}/namespaces/team-a/pods/broken"

    page = admin.get(f"/c/{cluster.name}/")
    assert page.status_code == 200
    assert 'id="k8s-version">v1.37' in page.text
    assert f'<a href="/c/{cluster.name}/nodes">2/2</a>' in page.text
    assert 'data-phase="Running"' in page.text and 'data-resource="cpu"' in page.text
    assert f'href="/c/{cluster.name}/namespaces/team-a/pods/broken"' in page.text


def test_alice_sees_not_permitted_parts_and_the_rest(
    alice: TestClient, cluster: RealCluster
) -> None:
    data = overview(alice, cluster)
    assert data["cluster"]["version"].startswith("v1.37")
    assert data["nodes"]["forbidden"] is True
    assert data["nodes"]["error"] == "not permitted: list nodes"
    assert data["pods"]["error"] == "not permitted: list pods in all namespaces"
    assert data["capacity"]["forbidden"] is True
    assert data["warnings"]["error"] == "not permitted: list events in all namespaces"
    page = alice.get(f"/c/{cluster.name}/")
    assert page.status_code == 200
    assert "Not permitted: you may not list nodes." in page.text
    assert 'id="k8s-version">v1.37' in page.text


def test_alice_gets_her_namespaces_when_known(alice: TestClient, cluster: RealCluster) -> None:
    alice.cookies.set(f"kl_known_ns.{cluster.name}", "team-a")
    try:
        data = overview(alice, cluster)
    finally:
        alice.cookies.delete(f"kl_known_ns.{cluster.name}")
    pods = data["pods"]
    assert pods["error"] == "" and pods["namespaces"] == ["team-a"]
    assert pods["byPhase"]["Pending"] >= 1 and pods["byPhase"]["Running"] >= 5
    assert data["warnings"]["namespaces"] == ["team-a"]
    assert {w["namespace"] for w in data["warnings"]["items"]} == {"team-a"}
    assert data["capacity"]["forbidden"] is True


def test_bob_reads_pods_and_events_but_not_nodes(bob: TestClient, cluster: RealCluster) -> None:
    data = overview(bob, cluster)
    assert data["nodes"]["forbidden"] is True
    assert data["pods"]["error"] == "" and data["pods"]["total"] >= 12
    assert data["warnings"]["error"] == "" and data["warnings"]["items"]
    assert data["capacity"]["error"] == "not permitted: list nodes"
