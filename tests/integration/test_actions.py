"""Every object action against the real control plane, as alice (team-a), bob and admin.

alice may act in team-a and is refused in team-b; bob is refused everywhere;
nodes are cluster-scoped, so only admin may cordon and drain.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import RealCluster, wait_until
from tests.integration.operate_kit import (
    Kube,
    a_deployment,
    deploy_path,
    form_token,
    unique,
    writes,
)


def obj_url(cluster: RealCluster, resource: str, name: str, ns: str | None = "team-a") -> str:
    if ns:
        return f"/c/{cluster.name}/namespaces/{ns}/{resource}/{name}"
    return f"/c/{cluster.name}/{resource}/{name}"


def act(
    tc: TestClient,
    cluster: RealCluster,
    resource: str,
    name: str,
    action: str,
    ns: str | None = "team-a",
    **body: Any,
) -> Any:
    url = obj_url(cluster, resource, name, ns) + f"/actions/{action}"
    return tc.post(url, json=body, headers=writes(tc))


def offered(tc: TestClient, url: str) -> dict[str, dict[str, Any]]:
    data = tc.get(url + ".json").json()
    return {a["name"]: a for a in data["actions"]}


def test_actions_are_offered_by_rbac(
    admin: TestClient, alice: TestClient, bob: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    with a_deployment(kube, "ops-offer") as name:
        url = obj_url(cluster, "deployments.apps", name)
        mine = offered(alice, url)
        assert list(mine) == ["edit", "scale", "restart", "pause", "rollback", "delete"]
        assert all(a["allowed"] for a in mine.values())
        page = alice.get(url).text
        for action in ("edit", "scale", "restart", "pause", "delete"):
            assert f'data-action="{action}"' in page
        assert "No previous revision." in page  # rollback: offered, nothing to go back to
        theirs = offered(bob, url)
        assert not any(a["allowed"] for a in theirs.values())
        assert (
            "RBAC does not let you delete deployments.apps in namespace team-a"
            in theirs["delete"]["reason"]
        )
        page = bob.get(url).text
        assert 'data-action="' not in page.split('id="object-actions"')[1].split("</div>")[0]
        assert 'data-denied="scale"' in page
    # Nodes: alice may not even read one; admin is offered everything.
    assert alice.get(obj_url(cluster, "nodes", "kwok-node-0", None) + ".json").status_code == 403
    node = offered(admin, obj_url(cluster, "nodes", "kwok-node-0", None))
    assert {n: a["allowed"] for n, a in node.items()} == {
        "edit": True,
        "cordon": True,
        "drain": True,
        "delete": True,
    }


def test_scale_deployment_statefulset_replicaset(
    alice: TestClient, bob: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    sts, rs = unique("ops-sts"), unique("ops-rs")
    labels = {"app": sts}
    template = {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "m", "image": "busybox"}]},
    }
    kube.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": sts, "namespace": "team-a"},
            "spec": {
                "replicas": 1,
                "serviceName": sts,
                "selector": {"matchLabels": labels},
                "template": template,
            },
        },
        f"/apis/apps/v1/namespaces/team-a/statefulsets/{sts}",
    )
    rs_labels = {"app": rs}
    kube.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": rs, "namespace": "team-a"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": rs_labels},
                "template": {**template, "metadata": {"labels": rs_labels}},
            },
        },
        f"/apis/apps/v1/namespaces/team-a/replicasets/{rs}",
    )
    try:
        with a_deployment(kube, "ops-scale") as dep:
            for resource, name, path in (
                ("deployments.apps", dep, deploy_path("team-a", dep)),
                ("statefulsets.apps", sts, f"/apis/apps/v1/namespaces/team-a/statefulsets/{sts}"),
                ("replicasets.apps", rs, f"/apis/apps/v1/namespaces/team-a/replicasets/{rs}"),
            ):
                r = act(alice, cluster, resource, name, "scale", replicas=2)
                assert r.status_code == 200, r.text
                assert r.json()["replicas"] == 2 and "to 2 replicas" in r.json()["message"]
                assert kube.must(path)["spec"]["replicas"] == 2
                r = act(bob, cluster, resource, name, "scale", replicas=0)
                assert r.status_code == 403
                assert kube.must(path)["spec"]["replicas"] == 2
            r = act(alice, cluster, "deployments.apps", dep, "scale", replicas=-1)
            assert r.status_code == 400
            r = act(alice, cluster, "deployments.apps", dep, "scale", replicas="many")
            assert r.status_code == 400
        r = act(alice, cluster, "deployments.apps", "api", "scale", ns="team-b", replicas=0)
        assert r.status_code == 403
        assert kube.must(deploy_path("team-b", "api"))["spec"]["replicas"] > 0
    finally:
        kube.delete(f"/apis/apps/v1/namespaces/team-a/statefulsets/{sts}")
        kube.delete(f"/apis/apps/v1/namespaces/team-a/replicasets/{rs}")


def test_restart_pause_resume(
    alice: TestClient, bob: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    with a_deployment(kube, "ops-restart") as dep:
        path = deploy_path("team-a", dep)
        r = act(alice, cluster, "deployments.apps", dep, "restart")
        assert r.status_code == 200, r.text
        stamp = r.json()["restartedAt"]
        annotations = kube.must(path)["spec"]["template"]["metadata"]["annotations"]
        assert annotations["kubectl.kubernetes.io/restartedAt"] == stamp

        r = act(alice, cluster, "deployments.apps", dep, "pause")
        assert r.status_code == 200 and kube.must(path)["spec"]["paused"] is True
        assert "resume" in offered(alice, obj_url(cluster, "deployments.apps", dep))
        r = act(alice, cluster, "deployments.apps", dep, "restart")
        assert r.status_code == 409 and "paused" in r.json()["error"]["message"]
        r = act(alice, cluster, "deployments.apps", dep, "rollback")
        assert r.status_code == 409
        r = act(bob, cluster, "deployments.apps", dep, "resume")
        assert r.status_code == 403 and kube.must(path)["spec"]["paused"] is True
        r = act(alice, cluster, "deployments.apps", dep, "resume")
        assert r.status_code == 200 and not kube.must(path)["spec"].get("paused")
    for action in ("restart", "pause", "resume"):
        r = act(alice, cluster, "deployments.apps", "api", action, ns="team-b")
        assert r.status_code == 403, action


def test_rollback_to_a_previous_revision(
    alice: TestClient, bob: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    with a_deployment(kube, "ops-undo", image="busybox:1.36") as dep:
        path = deploy_path("team-a", dep)
        kube.merge(
            path,
            {
                "spec": {
                    "template": {
                        "spec": {"containers": [{"name": "main", "image": "busybox:1.37"}]}
                    }
                }
            },
        )

        def revisions() -> list[dict[str, Any]]:
            data = alice.get(obj_url(cluster, "deployments.apps", dep) + ".json").json()
            return list(data.get("revisions") or [])

        wait_until(lambda: len(revisions()) == 2 and revisions()[0]["current"], 30, "revision 2")
        newest, older = revisions()
        assert newest["revision"] == 2 and newest["images"] == ["busybox:1.37"]
        assert older["revision"] == 1 and not older["current"]

        r = act(bob, cluster, "deployments.apps", dep, "rollback")
        assert r.status_code == 403
        r = act(alice, cluster, "deployments.apps", dep, "rollback", revision=7)
        assert r.status_code == 400 and "no revision 7" in r.json()["error"]["message"]
        r = act(alice, cluster, "deployments.apps", dep, "rollback")
        assert r.status_code == 200, r.text
        assert r.json()["revision"] == 1
        template = kube.must(path)["spec"]["template"]
        assert template["spec"]["containers"][0]["image"] == "busybox:1.36"
        assert "pod-template-hash" not in template["metadata"]["labels"]
        # The controller turns revision 1 into revision 3: rolling back again goes to 2.
        wait_until(
            lambda: revisions()[0]["revision"] == 3 and revisions()[0]["current"], 30, "revision 3"
        )
        r = act(alice, cluster, "deployments.apps", dep, "rollback", revision=2)
        assert r.status_code == 200, r.text
        assert (
            kube.must(path)["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.37"
        )
    r = act(alice, cluster, "deployments.apps", "api", "rollback", ns="team-b")
    assert r.status_code == 403


def test_cronjob_suspend_resume_and_run_now(
    alice: TestClient, bob: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    name = unique("ops-cron")
    path = f"/apis/batch/v1/namespaces/team-a/cronjobs/{name}"
    kube.apply(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": name, "namespace": "team-a"},
            "spec": {
                "schedule": "0 0 1 1 *",
                "jobTemplate": {
                    "metadata": {"labels": {"job": name}, "annotations": {"note": "from-template"}},
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [
                                    {"name": "c", "image": "busybox", "command": ["true"]}
                                ],
                            }
                        }
                    },
                },
            },
        },
        path,
    )
    try:
        url = obj_url(cluster, "cronjobs.batch", name)
        assert list(offered(alice, url)) == ["edit", "suspend", "run", "delete"]
        r = act(alice, cluster, "cronjobs.batch", name, "suspend")
        assert r.status_code == 200 and kube.must(path)["spec"]["suspend"] is True
        assert "resume" in offered(alice, url)
        r = act(bob, cluster, "cronjobs.batch", name, "resume")
        assert r.status_code == 403
        r = act(alice, cluster, "cronjobs.batch", name, "resume")
        assert r.status_code == 200 and kube.must(path)["spec"]["suspend"] is False

        r = act(alice, cluster, "cronjobs.batch", name, "run")
        assert r.status_code == 200, r.text
        job_name = r.json()["job"]
        assert job_name.startswith(f"{name}-manual-")
        assert r.json()["url"] == obj_url(cluster, "jobs.batch", job_name)
        job = kube.must(f"/apis/batch/v1/namespaces/team-a/jobs/{job_name}")
        (owner,) = job["metadata"]["ownerReferences"]
        assert owner["kind"] == "CronJob" and owner["uid"] == kube.must(path)["metadata"]["uid"]
        assert owner["controller"] is True
        annotations = job["metadata"]["annotations"]
        assert annotations["cronjob.kubernetes.io/instantiate"] == "manual"
        assert annotations["note"] == "from-template" and job["metadata"]["labels"]["job"] == name
        assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["true"]
        r = act(bob, cluster, "cronjobs.batch", name, "run")
        assert r.status_code == 403
    finally:
        kube.delete(path, propagationPolicy="Background")
    r = act(alice, cluster, "cronjobs.batch", "report", "run", ns="team-b")
    assert r.status_code == 403


def test_delete_with_propagation_policy(
    alice: TestClient, bob: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    with a_deployment(kube, "ops-del") as dep:
        path = deploy_path("team-a", dep)
        selector = {"labelSelector": f"app={dep}"}

        def replicasets() -> list[dict[str, Any]]:
            r = kube.http.get("/apis/apps/v1/namespaces/team-a/replicasets", params=selector)
            return list(r.json()["items"])

        wait_until(lambda: len(replicasets()) == 1, 30, "the ReplicaSet")
        r = act(bob, cluster, "deployments.apps", dep, "delete")
        assert r.status_code == 403 and kube.get(path) is not None
        r = act(alice, cluster, "deployments.apps", dep, "delete", propagationPolicy="Sideways")
        assert r.status_code == 400
        r = act(alice, cluster, "deployments.apps", dep, "delete", propagationPolicy="Orphan")
        assert r.status_code == 200, r.text
        assert "propagation Orphan" in r.json()["message"]
        kube.wait_gone(path)
        (rs,) = replicasets()  # orphaned: still there, no owner
        assert not rs["metadata"].get("ownerReferences")
        kube.delete(f"/apis/apps/v1/namespaces/team-a/replicasets/{rs['metadata']['name']}")
    with a_deployment(kube, "ops-del") as dep:
        r = act(alice, cluster, "deployments.apps", dep, "delete", propagationPolicy="Foreground")
        assert r.status_code == 200, r.text
        kube.wait_gone(deploy_path("team-a", dep))
    r = act(alice, cluster, "deployments.apps", "api", "delete", ns="team-b")
    assert r.status_code == 403 and kube.get(deploy_path("team-b", "api")) is not None


def test_htmx_and_plain_form_answers(
    alice: TestClient, bob: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    with a_deployment(kube, "ops-htmx") as dep:
        url = obj_url(cluster, "deployments.apps", dep)
        r = alice.post(
            url + "/actions/pause",
            data={"_csrf": form_token(alice)},
            headers={"HX-Request": "true"},
        )
        assert r.status_code == 200
        assert 'data-action-result="pause"' in r.text
        assert 'id="object-actions"' in r.text and 'hx-swap-oob="true"' in r.text
        assert 'data-action="resume"' in r.text  # redrawn for the paused state
        r = bob.post(
            url + "/actions/resume", data={"_csrf": form_token(bob)}, headers={"HX-Request": "true"}
        )
        assert r.status_code == 200 and 'data-status="403"' in r.text and "Forbidden" in r.text
        r = alice.post(
            url + "/actions/resume", data={"_csrf": form_token(alice)}, follow_redirects=False
        )
        assert r.status_code == 303 and r.headers["location"] == url
        r = alice.post(
            url + "/actions/delete",
            data={"_csrf": form_token(alice)},
            headers={"HX-Request": "true"},
        )
        assert r.headers["HX-Redirect"] == f"/c/{cluster.name}/namespaces/team-a/deployments.apps"
    r = act(alice, cluster, "deployments.apps", "whatever", "explode")
    assert r.status_code == 400 and "no action 'explode'" in r.json()["error"]["message"]
    r = act(alice, cluster, "configmaps", "whatever", "scale")
    assert r.status_code == 400


# ---- nodes: cordon, uncordon, drain ---------------------------------------------


@pytest.fixture
def drain_node(kube: Kube) -> Iterator[str]:
    """A fake kwok node of our own, tainted so nothing else lands on it."""
    name = unique("ops-node")
    r = kube.http.post(
        "/api/v1/nodes",
        json={
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {"kwok.x-k8s.io/node": "fake"},
                "labels": {"type": "kwok", "kubernetes.io/hostname": name, "ops-drain": name},
            },
            "spec": {"taints": [{"key": "ops-drain", "value": name, "effect": "NoSchedule"}]},
            "status": {
                "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            },
        },
    )
    r.raise_for_status()

    def ready() -> bool:
        conditions = kube.must(f"/api/v1/nodes/{name}").get("status", {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    wait_until(ready, 30, f"node {name} to be Ready")
    yield name
    kube.delete(f"/api/v1/nodes/{name}")


def test_cordon_and_uncordon(
    admin: TestClient,
    alice: TestClient,
    bob: TestClient,
    cluster: RealCluster,
    kube: Kube,
    drain_node: str,
) -> None:
    path = f"/api/v1/nodes/{drain_node}"
    for refused in (alice, bob):
        r = act(refused, cluster, "nodes", drain_node, "cordon", ns=None)
        assert r.status_code == 403
    r = act(admin, cluster, "nodes", drain_node, "cordon", ns=None)
    assert r.status_code == 200, r.text
    assert kube.must(path)["spec"]["unschedulable"] is True
    assert "uncordon" in offered(admin, obj_url(cluster, "nodes", drain_node, None))
    r = act(alice, cluster, "nodes", drain_node, "uncordon", ns=None)
    assert r.status_code == 403
    r = act(admin, cluster, "nodes", drain_node, "uncordon", ns=None)
    assert r.status_code == 200
    assert not kube.must(path)["spec"].get("unschedulable")


def test_drain_honours_pod_disruption_budgets_and_skips_daemonsets(
    admin: TestClient, alice: TestClient, cluster: RealCluster, kube: Kube, drain_node: str
) -> None:
    app = unique("ops-drain")
    placement = {
        "nodeSelector": {"ops-drain": drain_node},
        "tolerations": [{"key": "ops-drain", "operator": "Exists"}],
        "containers": [{"name": "m", "image": "busybox"}],
    }
    dep_path = deploy_path("team-a", app)
    ds_path = f"/apis/apps/v1/namespaces/team-a/daemonsets/{app}-ds"
    pdb_path = f"/apis/policy/v1/namespaces/team-a/poddisruptionbudgets/{app}"
    kube.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": app, "namespace": "team-a"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": app}},
                "template": {"metadata": {"labels": {"app": app}}, "spec": placement},
            },
        },
        dep_path,
    )
    kube.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": f"{app}-ds", "namespace": "team-a"},
            "spec": {
                "selector": {"matchLabels": {"app": f"{app}-ds"}},
                "template": {"metadata": {"labels": {"app": f"{app}-ds"}}, "spec": placement},
            },
        },
        ds_path,
    )
    kube.apply(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": app, "namespace": "team-a"},
            "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": app}}},
        },
        pdb_path,
    )

    def pods_on_node() -> list[dict[str, Any]]:
        r = kube.http.get("/api/v1/pods", params={"fieldSelector": f"spec.nodeName={drain_node}"})
        return [p for p in r.json()["items"] if not p["metadata"].get("deletionTimestamp")]

    def running() -> bool:
        pods = pods_on_node()
        return len(pods) == 3 and all(p["status"].get("phase") == "Running" for p in pods)

    try:
        wait_until(running, 60, "2 deployment pods and 1 DaemonSet pod running on the node")
        wait_until(
            lambda: kube.must(pdb_path).get("status", {}).get("currentHealthy") == 2,
            30,
            "PDB status",
        )
        url = obj_url(cluster, "nodes", drain_node, None)
        r = act(alice, cluster, "nodes", drain_node, "drain", ns=None, wait=True)
        assert r.status_code == 403

        # Blocked: the budget allows no disruption; the drain gives up after its timeout.
        r = act(admin, cluster, "nodes", drain_node, "drain", ns=None, wait=True, timeoutSeconds=3)
        assert r.status_code == 429, r.text
        drain = r.json()["drain"]
        assert drain["status"] == "blocked" and "PodDisruptionBudget" in drain["message"]
        states = {p["name"]: p["state"] for p in drain["pods"]}
        assert sorted(states.values()) == ["blocked", "blocked", "skipped"]
        assert kube.must(f"/api/v1/nodes/{drain_node}")["spec"]["unschedulable"] is True
        assert len(pods_on_node()) == 3

        # Progress page: HTML, JSON, and the htmx fragment that polls itself while running.
        page = admin.get(url + "/drain")
        assert page.status_code == 200 and 'data-drain-status="blocked"' in page.text
        progress = admin.get(url + "/drain.json").json()
        assert progress["drain"]["status"] == "blocked" and progress["unschedulable"] is True
        assert len(progress["podsOnNode"]) == 3

        kube.delete(pdb_path)
        r = admin.post(
            url + "/actions/drain",
            data={"_csrf": form_token(admin), "timeoutSeconds": "60"},
            headers={"HX-Request": "true"},
        )
        assert r.status_code == 200 and 'id="drain-progress"' in r.text
        assert 'hx-trigger="every 1s"' in r.text or 'data-drain-status="done"' in r.text

        def finished() -> bool:
            return admin.get(url + "/drain.json").json()["drain"]["status"] != "running"

        wait_until(finished, 60, "the drain to finish")
        done = admin.get(url + "/drain.json").json()
        assert done["drain"]["status"] == "done", done
        left = pods_on_node()
        assert [p["metadata"]["ownerReferences"][0]["kind"] for p in left] == ["DaemonSet"]
        fragment = admin.get(url + "/drain", headers={"HX-Request": "true"}).text
        assert "every 1s" not in fragment  # finished: stops polling

        def audited(result: str) -> bool:
            entries = admin.get("/-/activity.json").json()["activity"]
            return any(
                e["verb"] == "drain" and e["name"] == drain_node and e["result"] == result
                for e in entries
            )

        wait_until(lambda: audited("ok") and audited("failed"), 10, "both drains in the activity")
    finally:
        kube.delete(pdb_path)
        kube.delete(ds_path)
        kube.delete(dep_path)

        def empty() -> bool:
            r = kube.http.get(
                "/api/v1/pods", params={"fieldSelector": f"spec.nodeName={drain_node}"}
            )
            return not r.json()["items"]

        wait_until(empty, 30, "the node's pods to go before the node")
