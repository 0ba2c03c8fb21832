"""Issue 3, details of every kind: metadata, owners, conditions, events, relations,
live fragment, and the not-found / forbidden states, against the real control plane."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import RealCluster, wait_until
from tests.kube import kube_client

PROBE_NS = "kl-detail-probe"


def web_pod(client: TestClient, cluster: RealCluster) -> str:
    rows = client.get(f"/c/{cluster.name}/namespaces/team-a/pods.json").json()["rows"]
    return str(next(r["name"] for r in rows if r["name"].startswith("web-")))


def detail(client: TestClient, path: str) -> dict[str, Any]:
    resp = client.get(path + ".json")
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


def related(data: dict[str, Any], key: str) -> dict[str, Any]:
    return next(r for r in data["related"] if r["key"] == key)


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_pod_metadata_owner_and_conditions(admin: TestClient, cluster: RealCluster) -> None:
    name = web_pod(admin, cluster)
    base = f"/c/{cluster.name}/namespaces/team-a/pods/{name}"
    data = detail(admin, base)
    md = data["metadata"]
    assert md["namespace"] == "team-a" and md["uid"] and md["created"]
    assert md["labels"]["app"] == "web"
    (owner,) = data["owners"]
    assert owner["kind"] == "ReplicaSet" and owner["controller"] is True
    assert owner["url"] == f"/c/{cluster.name}/namespaces/team-a/replicasets.apps/{owner['name']}"
    ready = next(c for c in data["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True" and ready["lastTransitionTime"]
    scheduled = [e for e in data["events"]["items"] if e["reason"] == "Scheduled"]
    assert scheduled and "kwok-node" in scheduled[0]["message"]

    page = admin.get(base)
    assert page.status_code == 200
    assert f'href="{owner["url"]}" data-kind="ReplicaSet">{owner["name"]}</a>' in page.text
    assert 'id="conditions"' in page.text and 'data-type="Ready"' in page.text
    assert 'id="detail-body"' in page.text and "fragment=1" in page.text


def test_warning_events_newest_first_and_highlighted(
    admin: TestClient, cluster: RealCluster
) -> None:
    base = f"/c/{cluster.name}/namespaces/team-a/pods/broken"
    events = detail(admin, base)["events"]
    assert events["error"] == ""
    reasons = {e["reason"] for e in events["items"] if e["type"] == "Warning"}
    assert {"Failed", "BackOff", "FailedScheduling"} <= reasons
    times = [ts(e["lastSeen"]) for e in events["items"]]
    assert times == sorted(times, reverse=True)
    page = admin.get(base).text
    assert '<tr class="warning" data-type="Warning" data-reason="FailedScheduling">' in page


def test_deployment_owns_replicasets_which_own_pods(
    admin: TestClient, cluster: RealCluster
) -> None:
    data = detail(admin, f"/c/{cluster.name}/namespaces/team-a/deployments.apps/web")
    (rs,) = related(data, "replicasets")["items"]
    assert rs["revision"] == "1" and rs["desired"] == 3 and rs["ready"] == 3
    assert rs["url"].startswith(f"/c/{cluster.name}/namespaces/team-a/replicasets.apps/web-")
    pods = related(data, "pods")["items"]
    assert len(pods) == 3 and all(p["name"].startswith(rs["name"]) for p in pods)
    assert all(p["status"] == "Running" and p["ready"] == "1/1" for p in pods)
    warnings = [e for e in data["events"]["items"] if e["type"] == "Warning"]
    assert [e["reason"] for e in warnings] == ["FailedCreate"]

    rs_data = detail(admin, rs["url"])
    (owner,) = rs_data["owners"]
    assert (owner["kind"], owner["name"]) == ("Deployment", "web")
    assert {p["name"] for p in related(rs_data, "pods")["items"]} == {p["name"] for p in pods}


def test_custom_resource_gets_the_generic_page(admin: TestClient, cluster: RealCluster) -> None:
    base = f"/c/{cluster.name}/namespaces/team-a/widgets.example.com/big-red"
    data = detail(admin, base)
    assert data["section"] is None and data["related"] == [] and data["sectionError"] == ""
    assert data["metadata"]["name"] == "big-red" and data["events"]["error"] == ""
    page = admin.get(base).text
    assert 'id="metadata"' in page and "color: red" in page


def test_body_fragment_for_live_refresh(admin: TestClient, cluster: RealCluster) -> None:
    base = f"/c/{cluster.name}/namespaces/team-a/deployments.apps/web"
    fragment = admin.get(base + "?fragment=1", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section id="metadata"')
    assert 'id="replicas"' in fragment.text and 'id="yaml"' in fragment.text
    assert "<html" not in fragment.text and 'class="sidebar"' not in fragment.text
    # Without htmx's header it is the whole page (a shared link must not lose the chrome).
    assert "<html" in admin.get(base + "?fragment=1").text


def test_not_found_page_and_json(admin: TestClient, cluster: RealCluster) -> None:
    base = f"/c/{cluster.name}/namespaces/team-a/deployments.apps/nope"
    resp = admin.get(base + ".json")
    assert resp.status_code == 404
    err = resp.json()["error"]
    assert err["reason"] == "NotFound" and '"nope" not found' in err["message"]
    page = admin.get(base)
    assert page.status_code == 404 and "Not found" in page.text and "Traceback" not in page.text


def test_bob_may_not_get_a_secret(bob: TestClient, cluster: RealCluster) -> None:
    base = f"/c/{cluster.name}/namespaces/team-a/secrets/db-password"
    resp = bob.get(base + ".json")
    assert resp.status_code == 403
    err = resp.json()["error"]
    assert (err["verb"], err["resource"], err["namespace"]) == ("get", "secrets", "team-a")
    page = bob.get(base)
    assert page.status_code == 403
    assert "You may not <strong>get secrets in namespace team-a</strong>" in page.text
    assert "not-a-real-password" not in page.text
    assert bob.get(base + ".json?reveal=password").status_code == 403


def test_alice_may_not_get_a_team_b_deployment(alice: TestClient, cluster: RealCluster) -> None:
    base = f"/c/{cluster.name}/namespaces/team-b/deployments.apps/api"
    resp = alice.get(base + ".json")
    assert resp.status_code == 403
    err = resp.json()["error"]
    assert (err["verb"], err["resource"], err["namespace"]) == (
        "get",
        "deployments.apps",
        "team-b",
    )
    page = alice.get(base)
    assert "You may not <strong>get deployments.apps in namespace team-b</strong>" in page.text


def test_alice_and_bob_see_team_a_details(
    alice: TestClient, bob: TestClient, cluster: RealCluster
) -> None:
    for client in (alice, bob):
        data = detail(client, f"/c/{cluster.name}/namespaces/team-a/deployments.apps/web")
        assert len(related(data, "pods")["items"]) == 3
        assert data["events"]["error"] == ""
        pod = detail(client, f"/c/{cluster.name}/namespaces/team-a/pods/broken")
        assert pod["section"]["summary"]["status"] == "ImagePullBackOff"


@pytest.fixture(scope="module")
def probe_namespace(cluster: RealCluster) -> Iterator[str]:
    """A namespace where alice may get deployments and nothing else."""
    kube = kube_client(cluster.kubeconfig("admin"))

    def apply(path: str, body: dict[str, Any]) -> None:
        resp = kube.patch(
            path,
            params={"fieldManager": "kl-detail-tests", "force": "true"},
            headers={"Content-Type": "application/apply-patch+yaml"},
            json=body,
        )
        assert resp.status_code in (200, 201), resp.text

    ns_path = f"/api/v1/namespaces/{PROBE_NS}"
    apply(ns_path, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": PROBE_NS}})
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{PROBE_NS}"
    meta = {"namespace": PROBE_NS}
    apply(
        f"{rbac}/roles/deployments-only",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "deployments-only", **meta},
            "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}],
        },
    )
    apply(
        f"{rbac}/rolebindings/alice-deployments-only",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "alice-deployments-only", **meta},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "deployments-only",
            },
            "subjects": [{"kind": "User", "name": "alice"}],
        },
    )
    apply(
        f"/apis/apps/v1/namespaces/{PROBE_NS}/deployments/probe",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "probe", **meta},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "probe"}},
                "template": {
                    "metadata": {"labels": {"app": "probe"}},
                    "spec": {"containers": [{"name": "main", "image": "busybox"}]},
                },
            },
        },
    )
    yield PROBE_NS
    kube.delete(ns_path)
    kube.close()


def test_refused_lookups_degrade_but_the_page_renders(
    alice: TestClient, admin: TestClient, cluster: RealCluster, probe_namespace: str
) -> None:
    base = f"/c/{cluster.name}/namespaces/{probe_namespace}/deployments.apps/probe"
    wait_until(lambda: len(related(detail(admin, base), "pods")["items"]) == 1, what="probe pod")
    data = detail(alice, base)
    assert data["section"]["summary"]["replicas"]["desired"] == 1
    rs = related(data, "replicasets")
    assert rs["forbidden"] is True and rs["items"] == []
    assert rs["error"] == f"not permitted: list replicasets.apps in namespace {probe_namespace}"
    assert (
        related(data, "pods")["error"] == f"not permitted: list pods in namespace {probe_namespace}"
    )
    assert data["events"]["forbidden"] is True
    page = alice.get(base)
    assert page.status_code == 200
    assert f"Not permitted: you may not list pods in namespace {probe_namespace}." in page.text
    assert 'id="replicas"' in page.text
