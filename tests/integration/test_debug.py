"""Debug containers against the real API server: the ephemeral container is added with
the person's own credentials (RBAC on pods/ephemeralcontainers), audited, and the
terminal attaches to it through kwok's kubelet."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import RealCluster
from tests.debugkit import a_running_pod, pod_path
from tests.integration.operate_kit import Kube, form_token, writes

pytestmark = pytest.mark.timeout(180)


def url(cluster: RealCluster, pod: str) -> str:
    return f"/c/{cluster.name}/namespaces/team-a/pods/{pod}"


def test_debug_adds_an_ephemeral_container_and_attaches(
    admin: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    with a_running_pod(kube) as pod:
        base = url(cluster, pod)
        page = admin.get(base + "/debug.json").json()
        assert page["access"]["debug"]["allowed"] is True
        assert page["images"] == ["busybox"] and page["targets"] == ["main"]
        assert page["problem"] == ""

        r = admin.post(
            base + "/debug", json={"image": "busybox", "target": "main"}, headers=writes(admin)
        )
        assert r.status_code == 201, r.text
        result = r.json()["result"]
        name = result["container"]
        assert name.startswith("debugger-")
        assert result["attachUrl"] == f"{base}/attach?container={name}"

        spec = kube.must(pod_path(pod))["spec"]
        (eph,) = spec["ephemeralContainers"]
        assert eph["name"] == name and eph["image"] == "busybox"
        assert eph["targetContainerName"] == "main"
        assert eph["stdin"] is True and eph["tty"] is True

        # The terminal page offers the attach to it.
        term = admin.get(result["attachUrl"], headers={"Accept": "application/json"}).json()
        assert term["container"] == name and term["problem"] == ""
        assert term["interactive"] is True

        # Audited like a write: it shows in admin's activity.
        activity = admin.get("/-/activity.json").json()["activity"]
        entry = next(e for e in activity if e["name"] == pod)
        assert entry["verb"] == "patch" and entry["resource"] == "pods/ephemeralcontainers"
        assert entry["result"] == "ok" and name in entry["message"]

        # A form post goes to the terminal.
        form = admin.post(
            base + "/debug",
            data={"_csrf": form_token(admin), "image": "busybox", "target": ""},
            follow_redirects=False,
        )
        assert form.status_code == 303
        assert form.headers["location"].startswith(f"{base}/attach?container=debugger-")
        assert len(kube.must(pod_path(pod))["spec"]["ephemeralContainers"]) == 2

        # The pod page's Debug button is live for admin.
        links = admin.get(base + "/logs/links").text
        assert 'data-action="debug"' in links


def test_debug_refuses_what_is_not_offered(
    admin: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    with a_running_pod(kube) as pod:
        base = url(cluster, pod)
        r = admin.post(base + "/debug", json={"image": "evil/miner"}, headers=writes(admin))
        assert r.status_code == 400
        assert "not offered" in r.json()["error"]["message"]
        r = admin.post(
            base + "/debug", json={"image": "busybox", "target": "nope"}, headers=writes(admin)
        )
        assert r.status_code == 400
        assert "no container 'nope'" in r.json()["error"]["message"]
        assert not kube.must(pod_path(pod))["spec"].get("ephemeralContainers")


def test_rbac_decides_and_refusals_are_audited(
    bob: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    # bob may view; alice may edit team-a and exec, but the built-in edit role has no
    # pods/ephemeralcontainers: only admin here may debug.
    with a_running_pod(kube) as pod:
        base = url(cluster, pod)
        page = bob.get(base + "/debug")
        assert page.status_code == 200
        assert 'data-denied="debug"' in page.text
        assert "pods/ephemeralcontainers" in page.text
        assert 'data-denied="debug"' in bob.get(base + "/logs/links").text
        r = bob.post(base + "/debug", json={"image": "busybox"}, headers=writes(bob))
        assert r.status_code == 403
        activity = bob.get("/-/activity.json").json()["activity"]
        entry = next(e for e in activity if e["name"] == pod)
        assert entry["result"] == "refused" and entry["resource"] == "pods/ephemeralcontainers"
        assert not kube.must(pod_path(pod))["spec"].get("ephemeralContainers")
