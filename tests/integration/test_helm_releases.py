"""Helm releases against the real control plane, installed and changed by the real helm.

The test installs a tiny local chart (tests/data/helm: a ConfigMap and a
Deployment, versions 0.1.0 and 0.2.0) with helm as admin, then reads,
diffs, upgrades, rolls back and uninstalls it through Kubelantern as admin,
alice (edit in team-a only) and bob (view everywhere, no secrets).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from kubelantern.app import create_app
from tests.conftest import ROOT, RealCluster, make_settings, wait_until
from tests.helmkit import helm_binary
from tests.integration.operate_kit import Kube, unique, writes

CHARTS = ROOT / "tests" / "data" / "helm"


def helm(cluster: RealCluster, *args: str) -> str:
    proc = subprocess.run(
        [helm_binary(), *args, "--kubeconfig", cluster.kubeconfig("admin")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"HOME": "/tmp", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def with_helm(cluster: RealCluster) -> Iterator[Callable[[str], TestClient]]:
    """Apps that find helm (the helm_binary setting), one per test user."""
    clients: dict[str, TestClient] = {}

    def get(user: str) -> TestClient:
        if user not in clients:
            settings = make_settings(cluster.kubeconfig(user), helm_binary=helm_binary())
            clients[user] = TestClient(create_app(settings), raise_server_exceptions=False)
            clients[user].__enter__()
        return clients[user]

    yield get
    for tc in clients.values():
        tc.__exit__(None, None, None)


@pytest.fixture
def release(cluster: RealCluster, kube: Kube) -> Iterator[str]:
    """A release of demo 0.1.0 in team-a, upgraded to 0.2.0 with a value (two revisions)."""
    name = unique("rel")
    helm(cluster, "install", name, str(CHARTS / "demo-v1"), "-n", "team-a")
    helm(
        cluster,
        "upgrade", name, str(CHARTS / "demo-v2"), "-n", "team-a",
        "--set", "greeting=hi there",
    )  # fmt: skip
    yield name
    subprocess.run(
        [helm_binary(), "uninstall", name, "-n", "team-a", "--kubeconfig", cluster.kubeconfig()],
        capture_output=True,
        timeout=300,
        check=False,
        env={"HOME": "/tmp", "PATH": "/usr/bin:/bin"},
    )


def page(tc: TestClient, cluster: RealCluster, name: str, **params: Any) -> dict[str, Any]:
    r = tc.get(f"/c/{cluster.name}/namespaces/team-a/helm/{name}.json", params=params)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def test_list_and_release_page(
    with_helm: Callable[[str], TestClient], cluster: RealCluster, release: str
) -> None:
    admin = with_helm("admin")
    listed = admin.get(f"/c/{cluster.name}/helm.json").json()
    (mine,) = [r for r in listed["releases"] if r["name"] == release]
    assert mine["namespace"] == "team-a" and mine["revision"] == 2
    assert mine["chart"] == "demo-0.2.0" and mine["appVersion"] == "2.0"
    assert mine["status"] == "deployed" and mine["updated"]
    html = admin.get(f"/c/{cluster.name}/helm").text
    assert f'href="/c/{cluster.name}/namespaces/team-a/helm/{release}"' in html

    data = page(admin, cluster, release)
    shown = data["shown"]
    assert shown["values"] == {"greeting": "hi there"}
    assert shown["computedValues"] == {
        "greeting": "hi there",
        "replicas": 1,
        "image": "busybox:1.36",
        "clusterRole": False,
    }
    assert "demo chart v2" in shown["notes"]
    assert f"name: {release}-config" in shown["manifest"]
    objects = {o["kind"]: o for o in data["objects"]}
    assert (
        objects["ConfigMap"]["url"]
        == f"/c/{cluster.name}/namespaces/team-a/configmaps/{release}-config"
    )
    assert objects["ConfigMap"]["status"] == "present"
    # The object's own page links back to its release.
    cm = admin.get(objects["ConfigMap"]["url"] + ".json").json()
    assert cm["metadata"]["helmRelease"] == {"name": release, "namespace": "team-a"}
    assert "data-helm-release" in admin.get(objects["ConfigMap"]["url"]).text
    assert objects["Deployment"]["url"].endswith(f"/deployments.apps/{release}-web")
    assert objects["Deployment"]["status"].endswith("ready")
    assert [h["revision"] for h in data["history"]] == [2, 1]
    assert data["history"][1]["chart"] == "demo-0.1.0"
    assert data["actions"]["rollback"]["allowed"] and data["helm"]["available"]

    old = page(admin, cluster, release, revision="1")["shown"]
    assert old["values"] == {} and old["chartVersion"] == "0.1.0"

    diff = page(admin, cluster, release, **{"from": "1", "to": "2"})["diff"]
    assert '-  greeting: "hello from v1"' in diff["manifest"]
    assert '+  greeting: "hi there"' in diff["manifest"]
    assert "+greeting: hi there" in diff["values"]
    assert (
        admin.get(
            f"/c/{cluster.name}/namespaces/team-a/helm/{release}.json", params={"from": "9"}
        ).status_code
        == 400
    )
    assert admin.get(f"/c/{cluster.name}/namespaces/team-a/helm/no-such.json").status_code == 404
    assert admin.get(f"/c/{cluster.name}/namespaces/team-a/helm/Bad_Name.json").status_code == 400


def test_upgrade_rollback_uninstall(
    with_helm: Callable[[str], TestClient], cluster: RealCluster, kube: Kube, release: str
) -> None:
    alice = with_helm("alice")  # edit in team-a: may read and write its releases
    url = f"/c/{cluster.name}/namespaces/team-a/helm/{release}"
    cm = f"/api/v1/namespaces/team-a/configmaps/{release}-config"

    r = alice.post(
        url + "/upgrade", json={"values": "greeting: from the UI\n"}, headers=writes(alice)
    )
    assert r.status_code == 200, r.text
    assert page(alice, cluster, release)["release"]["revision"] == 3
    assert kube.must(cm)["data"]["greeting"] == "from the UI"
    assert kube.must(cm)["data"]["chart"] == "0.2.0"  # the same chart, rebuilt from the release

    r = alice.post(url + "/upgrade", json={"values": "greeting: [unclosed"}, headers=writes(alice))
    assert r.status_code == 400

    r = alice.post(url + "/rollback", json={"revision": 1}, headers=writes(alice))
    assert r.status_code == 200, r.text
    data = page(alice, cluster, release)
    assert data["release"]["revision"] == 4 and data["release"]["chart"] == "demo-0.1.0"
    assert kube.must(cm)["data"]["greeting"] == "hello from v1"
    entries = alice.get("/-/activity.json").json()["activity"]  # this app's audit only
    verbs = [(e["verb"], e["name"], e["result"]) for e in entries if e["name"] == release]
    assert ("helm upgrade", release, "ok") in verbs and ("helm rollback", release, "ok") in verbs

    # A plain form (the page's button) redirects back with a notice.
    token = writes(alice)["X-CSRF-Token"]
    r = alice.post(url + "/uninstall", data={"_csrf": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("/namespaces/team-a/helm?done=uninstall")
    kube.wait_gone(cm)
    assert alice.get(url + ".json").status_code == 404


def test_rbac_and_missing_permissions(
    with_helm: Callable[[str], TestClient], cluster: RealCluster, kube: Kube, release: str
) -> None:
    alice, bob = with_helm("alice"), with_helm("bob")
    # alice may not list secrets cluster-wide: she sees the namespaces she may read.
    listed = alice.get(f"/c/{cluster.name}/helm.json?namespaces=team-a").json()
    assert release in [r["name"] for r in listed["releases"]]
    refused = alice.get(f"/c/{cluster.name}/namespaces/team-b/helm.json")
    assert refused.status_code == 403 and "list secrets" in refused.json()["refused"]
    # bob reads everything but secrets: a clear message, not an empty list.
    r = bob.get(f"/c/{cluster.name}/helm")
    assert r.status_code == 403
    assert "Helm keeps its releases in Secrets" in r.text and "data-helm-refused" in r.text
    # bob's write is refused by the API server (his own credentials) and audited.
    r = bob.post(
        f"/c/{cluster.name}/namespaces/team-a/helm/{release}/rollback",
        json={"revision": 1},
        headers=writes(bob),
    )
    assert r.status_code == 403
    assert page(with_helm("admin"), cluster, release)["release"]["revision"] == 2


def test_buttons_name_the_missing_permission(
    with_helm: Callable[[str], TestClient], cluster: RealCluster, kube: Kube, release: str
) -> None:
    """bob, given read access to team-a's secrets only, sees the release but may not change it."""
    rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/team-a"
    role = unique("helm-reader")
    kube.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": role, "namespace": "team-a"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}],
        },
        f"{rbac}/roles/{role}",
    )
    kube.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": role, "namespace": "team-a"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}],
        },
        f"{rbac}/rolebindings/{role}",
    )
    bob = with_helm("bob")
    url = f"/c/{cluster.name}/namespaces/team-a/helm/{release}"
    try:
        wait_until(lambda: bob.get(url + ".json").status_code == 200, 30, "bob's read access")
        actions = page(bob, cluster, release)["actions"]
        assert not actions["rollback"]["allowed"] and not actions["uninstall"]["allowed"]
        assert "create secrets in namespace team-a" in actions["rollback"]["reason"]
        assert "update secrets in namespace team-a" in actions["uninstall"]["reason"]
        html = bob.get(url).text
        assert 'data-denied="helm-rollback"' in html and 'data-action="helm-rollback"' not in html
        assert "RBAC does not let you create secrets in namespace team-a" in html
    finally:
        kube.delete(f"{rbac}/rolebindings/{role}")
        kube.delete(f"{rbac}/roles/{role}")


def test_without_helm_the_pages_are_read_only(
    cluster: RealCluster, release: str, tmp_path: Path
) -> None:
    missing = str(tmp_path / "no-helm")
    settings = make_settings(cluster.kubeconfig("admin"), helm_binary=missing)
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        data = page(tc, cluster, release)
        assert not data["helm"]["available"] and missing in data["helm"]["reason"]
        assert not data["actions"]["rollback"]["allowed"]
        assert missing in data["actions"]["rollback"]["reason"]
        html = tc.get(f"/c/{cluster.name}/namespaces/team-a/helm/{release}").text
        assert 'data-denied="helm-rollback"' in html and 'data-action="helm-rollback"' not in html
        r = tc.post(
            f"/c/{cluster.name}/namespaces/team-a/helm/{release}/uninstall",
            json={},
            headers=writes(tc),
        )
        assert r.status_code == 501


def test_read_only_cluster_refuses_helm(cluster: RealCluster, release: str) -> None:
    settings = make_settings(cluster.kubeconfig("admin"), helm_binary=helm_binary(), read_only=True)
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        data = page(tc, cluster, release)
        assert data["readOnly"] and data["actions"] == {}
        r = tc.post(
            f"/c/{cluster.name}/namespaces/team-a/helm/{release}/uninstall",
            json={},
            headers=writes(tc),
        )
        assert r.status_code == 403
        assert page(tc, cluster, release)["release"]["revision"] == 2
