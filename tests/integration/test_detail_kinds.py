"""Issue 3, rich sections of the core kinds, against the real control plane and its seed."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import RealCluster, wait_until
from tests.integration.test_detail import detail, related, web_pod
from tests.kube import kube_client


def summary(data: dict[str, Any]) -> dict[str, Any]:
    assert data["sectionError"] == ""
    result: dict[str, Any] = data["section"]["summary"]
    return result


def test_pod_containers_node_and_ips(admin: TestClient, cluster: RealCluster) -> None:
    name = web_pod(admin, cluster)
    base = f"/c/{cluster.name}/namespaces/team-a/pods/{name}"
    data = detail(admin, base)
    s = summary(data)
    assert s["phase"] == "Running" and s["status"] == "Running" and s["qosClass"] == "Burstable"
    assert s["podIP"] and s["podIPs"] == [s["podIP"]] and s["hostIP"] == "127.0.0.1"
    assert s["node"]["name"].startswith("kwok-node-")
    assert s["node"]["url"] == f"/c/{cluster.name}/nodes/{s['node']['name']}"
    (c,) = s["containers"]
    assert (c["name"], c["image"], c["ready"], c["restarts"]) == ("nginx", "nginx:1.27", True, 0)
    assert c["state"]["state"] == "running" and c["state"]["since"]
    assert c["ports"] == ["80/TCP (http)"]
    assert c["requests"] == {"cpu": "100m", "memory": "128Mi"} and c["limits"] == {
        "memory": "256Mi"
    }
    assert c["envFrom"] == [{"kind": "ConfigMap", "name": "web-config", "prefix": ""}]
    assert c["volumeMounts"][0]["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount"
    assert s["volumes"][0]["type"] == "projected"
    assert s["requests"] == {"cpu": "100m", "memory": "128Mi"}
    services = related(data, "services")["items"]
    assert [(x["name"], x["url"]) for x in services] == [
        ("web", f"/c/{cluster.name}/namespaces/team-a/services/web")
    ]
    page = admin.get(base).text
    assert 'id="containers"' in page and 'data-container="nginx"' in page
    assert f'href="/c/{cluster.name}/nodes/{s["node"]["name"]}"' in page


def test_failing_pod_shows_waiting_reason(bob: TestClient, cluster: RealCluster) -> None:
    s = summary(detail(bob, f"/c/{cluster.name}/namespaces/team-a/pods/broken"))
    (c,) = s["containers"]
    assert c["ready"] is False
    assert (c["state"]["state"], c["state"]["reason"]) == ("waiting", "ImagePullBackOff")
    assert s["qosClass"] == "BestEffort" and s["requests"] == {}


def test_deployment_replicas_strategy_rollout(alice: TestClient, cluster: RealCluster) -> None:
    base = f"/c/{cluster.name}/namespaces/team-a/deployments.apps/web"
    s = summary(detail(alice, base))
    assert s["replicas"] == {
        "desired": 3,
        "current": 3,
        "ready": 3,
        "updated": 3,
        "available": 3,
        "unavailable": 0,
    }
    assert s["strategy"]["type"] == "RollingUpdate" and s["strategy"]["maxSurge"] == "25%"
    assert s["rollout"] == {"message": 'deployment "web" successfully rolled out', "done": True}
    assert s["selector"] == "app=web" and s["images"] == ["nginx:1.27"]
    page = alice.get(base).text
    assert '<div class="counter" data-counter="desired"><span class="value">3</span>' in page
    assert "deployment &#34;web&#34; successfully rolled out" in page


def test_statefulset_and_daemonset(bob: TestClient, cluster: RealCluster) -> None:
    sts = detail(bob, f"/c/{cluster.name}/namespaces/team-a/statefulsets.apps/db")
    s = summary(sts)
    assert s["replicas"]["desired"] == 2 and s["replicas"]["ready"] == 2
    assert s["service"]["url"] == f"/c/{cluster.name}/namespaces/team-a/services/db"
    assert s["rollout"]["done"] is True
    assert sorted(p["name"] for p in related(sts, "pods")["items"]) == ["db-0", "db-1"]

    ds = detail(bob, f"/c/{cluster.name}/namespaces/monitoring/daemonsets.apps/node-exporter")
    s = summary(ds)
    assert s["replicas"]["desired"] == 2 and s["replicas"]["available"] == 2
    assert s["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert s["rollout"] == {
        "message": 'daemon set "node-exporter" successfully rolled out',
        "done": True,
    }
    nodes = {p["node"] for p in related(ds, "pods")["items"]}
    assert nodes == {"kwok-node-0", "kwok-node-1"}


def test_service_ports_endpoints_and_selected_pods(bob: TestClient, cluster: RealCluster) -> None:
    data = detail(bob, f"/c/{cluster.name}/namespaces/team-a/services/web")
    s = summary(data)
    assert s["type"] == "ClusterIP" and s["clusterIP"] and s["selector"] == "app=web"
    assert s["ports"] == [
        {
            "name": "http",
            "port": 80,
            "targetPort": "http",
            "nodePort": None,
            "protocol": "TCP",
            "appProtocol": "",
        }
    ]
    endpoints = related(data, "endpoints")["items"]
    pods = related(data, "pods")["items"]
    assert len(endpoints) == 3 and all(e["ready"] for e in endpoints)
    assert {e["target"]["name"] for e in endpoints} == {p["name"] for p in pods}
    assert all(e["ports"] == ["80/TCP (http)"] for e in endpoints)
    headless = summary(detail(bob, f"/c/{cluster.name}/namespaces/team-a/services/db"))
    assert headless["clusterIP"] == "None"


def test_ingress_rules_backends_tls(alice: TestClient, cluster: RealCluster) -> None:
    data = detail(alice, f"/c/{cluster.name}/namespaces/team-a/ingresses.networking.k8s.io/web")
    s = summary(data)
    (rule,) = s["rules"]
    assert (rule["host"], rule["path"], rule["pathType"]) == ("web.example.test", "/", "Prefix")
    assert rule["backend"]["port"] == "http"
    assert rule["backend"]["service"]["url"] == f"/c/{cluster.name}/namespaces/team-a/services/web"
    (tls,) = s["tls"]
    assert tls["hosts"] == ["web.example.test"]
    assert tls["secret"]["url"] == f"/c/{cluster.name}/namespaces/team-a/secrets/web-tls"
    (svc,) = related(data, "services")["items"]
    assert svc["name"] == "web" and svc["missing"] is False and svc["ports"] == ["80/TCP"]


def test_configmap_keys_and_sizes(bob: TestClient, cluster: RealCluster) -> None:
    base = f"/c/{cluster.name}/namespaces/team-a/configmaps/web-config"
    keys = {k["key"]: k for k in summary(detail(bob, base))["keys"]}
    assert keys["LOG_LEVEL"]["size"] == 4 and keys["LOG_LEVEL"]["value"] == "info"
    assert keys["nginx.conf"]["size"] == len(keys["nginx.conf"]["value"].encode())
    assert 'data-key="nginx.conf"' in bob.get(base).text


def test_secret_values_hidden_until_revealed(
    admin: TestClient, alice: TestClient, cluster: RealCluster
) -> None:
    base = f"/c/{cluster.name}/namespaces/team-a/secrets/db-password"
    encoded = base64.b64encode(b"not-a-real-password").decode()
    for client in (admin, alice):
        resp = client.get(base + ".json")
        assert "not-a-real-password" not in resp.text and encoded not in resp.text
        data = resp.json()
        s = summary(data)
        assert s["type"] == "Opaque" and s["mayReveal"] is True
        assert {k["key"]: k["size"] for k in s["keys"]} == {"password": 19, "username": 3}
        assert data["object"]["data"]["password"] == "<hidden: 19 bytes>"
        page = client.get(base).text
        assert "not-a-real-password" not in page and encoded not in page
        assert f'hx-get="{base}?reveal=password"' in page

        value = client.get(base + "?reveal=password", headers={"HX-Request": "true"})
        assert value.status_code == 200 and value.headers["cache-control"] == "no-store"
        assert (
            '<pre class="secret-value" data-key="password">not-a-real-password</pre>' in value.text
        )
        assert "<html" not in value.text
        twin = client.get(base + ".json?reveal=username").json()
        assert (twin["value"], twin["size"], twin["binary"]) == ("app", 3, False)
    missing = admin.get(base + ".json?reveal=nope")
    assert missing.status_code == 404 and "no key 'nope'" in missing.json()["error"]["message"]


def test_tls_secret_keys(admin: TestClient, cluster: RealCluster) -> None:
    s = summary(detail(admin, f"/c/{cluster.name}/namespaces/team-a/secrets/web-tls"))
    assert s["type"] == "kubernetes.io/tls"
    assert [k["key"] for k in s["keys"]] == ["tls.crt", "tls.key"]
    assert all(k["size"] > 100 for k in s["keys"])


def test_pvc_and_pv_are_linked(admin: TestClient, cluster: RealCluster) -> None:
    pvc = summary(detail(admin, f"/c/{cluster.name}/namespaces/team-a/persistentvolumeclaims/data"))
    assert (pvc["phase"], pvc["capacity"], pvc["storageClassName"]) == ("Bound", "1Gi", "manual")
    assert pvc["accessModes"] == ["ReadWriteOnce"]
    assert pvc["volume"]["url"] == f"/c/{cluster.name}/persistentvolumes/team-a-data"
    pv = summary(detail(admin, pvc["volume"]["url"]))
    assert (pv["phase"], pv["capacity"], pv["reclaimPolicy"]) == ("Bound", "1Gi", "Retain")
    assert pv["claim"]["url"] == f"/c/{cluster.name}/namespaces/team-a/persistentvolumeclaims/data"
    assert pv["sourceType"] == "hostPath"


def test_hpa_target_and_metrics(bob: TestClient, cluster: RealCluster) -> None:
    s = summary(
        detail(bob, f"/c/{cluster.name}/namespaces/team-a/horizontalpodautoscalers.autoscaling/web")
    )
    assert s["target"]["url"] == f"/c/{cluster.name}/namespaces/team-a/deployments.apps/web"
    assert (s["minReplicas"], s["maxReplicas"]) == (3, 10)
    (metric,) = s["metrics"]
    assert (metric["type"], metric["name"], metric["target"]) == ("Resource", "cpu", "80%")


def test_node_resources_and_pods(admin: TestClient, bob: TestClient, cluster: RealCluster) -> None:
    base = f"/c/{cluster.name}/nodes/kwok-node-0"
    data = detail(admin, base)
    s = summary(data)
    assert s["ready"] is True and s["taints"] == [] and s["info"]["kubeletVersion"]
    assert {"type": "InternalIP", "address": "127.0.0.1"} in s["addresses"]
    cpu = next(r for r in s["resources"] if r["resource"] == "cpu")
    assert cpu["capacity"] == "32" and cpu["allocatable"] == "32"
    assert cpu["requested"].endswith("m") and 0 < cpu["percent"] < 100
    pods = related(data, "pods")["items"]
    assert pods and all(p["node"] == "kwok-node-0" for p in pods)
    assert {p["namespace"] for p in pods} >= {"monitoring"}  # a node-exporter pod runs here
    assert any(c["type"] == "Ready" and c["status"] == "True" for c in data["conditions"])
    # bob's view role has no nodes: the whole page is refused, naming what is missing.
    refused = bob.get(base + ".json")
    assert refused.status_code == 403
    assert (refused.json()["error"]["verb"], refused.json()["error"]["resource"]) == (
        "get",
        "nodes",
    )


def test_job_result_and_pods(bob: TestClient, cluster: RealCluster) -> None:
    data = detail(bob, f"/c/{cluster.name}/namespaces/team-a/jobs.batch/migrate")
    s = summary(data)
    assert (s["result"], s["completions"], s["failed"]) == ("Complete", "1/1", 0)
    assert s["durationSeconds"] is not None and s["backoffLimit"] == 2
    (pod,) = related(data, "pods")["items"]
    assert pod["status"] == "Completed" and pod["name"].startswith("migrate-")


@pytest.fixture
def job_from_cronjob(cluster: RealCluster) -> Iterator[str]:
    """``kubectl create job --from=cronjob/report``: a Job owned by the CronJob."""
    kube = kube_client(cluster.kubeconfig("admin"))
    cj = kube.get("/apis/batch/v1/namespaces/team-a/cronjobs/report").json()
    name = "report-by-test"
    body = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": "team-a",
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "name": "report",
                    "uid": cj["metadata"]["uid"],
                    "controller": True,
                }
            ],
        },
        "spec": cj["spec"]["jobTemplate"]["spec"],
    }
    path = "/apis/batch/v1/namespaces/team-a/jobs"
    kube.delete(f"{path}/{name}", params={"propagationPolicy": "Background"})
    wait_until(lambda: kube.get(f"{path}/{name}").status_code == 404, what="old job gone")
    assert kube.post(path, json=body).status_code == 201
    yield name
    kube.delete(f"{path}/{name}", params={"propagationPolicy": "Background"})
    kube.close()


def test_cronjob_schedule_jobs_and_last_result(
    alice: TestClient, cluster: RealCluster, job_from_cronjob: str
) -> None:
    base = f"/c/{cluster.name}/namespaces/team-a/cronjobs.batch/report"

    def finished() -> bool:
        jobs = related(detail(alice, base), "jobs")["items"]
        return any(j["name"] == job_from_cronjob and j["result"] == "Complete" for j in jobs)

    wait_until(finished, what="the job of the cronjob to complete")
    data = detail(alice, base)
    s = summary(data)
    assert (s["schedule"], s["suspend"], s["concurrencyPolicy"]) == ("*/5 * * * *", False, "Allow")
    assert s["lastResult"] == "Complete"
    jobs = related(data, "jobs")["items"]
    assert all(
        j["url"].startswith(f"/c/{cluster.name}/namespaces/team-a/jobs.batch/") for j in jobs
    )
    page = alice.get(base).text
    assert 'id="schedule"' in page and f'data-name="{job_from_cronjob}"' in page


def test_rbac_roles_and_bindings(
    admin: TestClient, alice: TestClient, cluster: RealCluster
) -> None:
    role = summary(detail(admin, f"/c/{cluster.name}/clusterroles.rbac.authorization.k8s.io/view"))
    pods_rule = next(r for r in role["rules"] if "pods" in r["resources"])
    assert pods_rule["verbs"] == ["get", "list", "watch"] and pods_rule["apiGroups"] == [""]

    base = f"/c/{cluster.name}/namespaces/team-a/rolebindings.rbac.authorization.k8s.io/alice-edit"
    data = detail(admin, base)
    s = summary(data)
    assert s["roleRef"] == {
        "kind": "ClusterRole",
        "name": "edit",
        "namespace": None,
        "url": f"/c/{cluster.name}/clusterroles.rbac.authorization.k8s.io/edit",
    }
    assert s["subjects"] == [{"kind": "User", "name": "alice", "namespace": None, "url": None}]
    rules = related(data, "rules")
    assert rules["title"] == "Rules of ClusterRole edit" and rules["items"]
    page = admin.get(base).text
    assert 'id="role-ref"' in page and 'data-subject="User/alice"' in page

    crb = summary(
        detail(admin, f"/c/{cluster.name}/clusterrolebindings.rbac.authorization.k8s.io/bob-view")
    )
    assert crb["roleRef"]["name"] == "view" and crb["subjects"][0]["name"] == "bob"
    # alice's edit role in team-a does not cover RBAC objects.
    assert alice.get(base + ".json").status_code == 403


def test_deployment_shows_the_autoscaler_that_scales_it(
    admin: TestClient, bob: TestClient, cluster: RealCluster
) -> None:
    data = detail(admin, f"/c/{cluster.name}/namespaces/team-a/deployments.apps/web")
    (hpa,) = related(data, "autoscalers")["items"]
    assert hpa["name"] == "web" and hpa["min"] >= 1 and hpa["max"] >= hpa["min"]
    assert (
        hpa["url"]
        == f"/c/{cluster.name}/namespaces/team-a/horizontalpodautoscalers.autoscaling/web"
    )
    api = detail(admin, f"/c/{cluster.name}/namespaces/team-b/deployments.apps/api")
    assert related(api, "autoscalers")["items"] == []
    page = admin.get(f"/c/{cluster.name}/namespaces/team-a/deployments.apps/web").text
    assert 'id="related-autoscalers"' in page


def test_statefulset_lists_its_volume_claims(admin: TestClient, cluster: RealCluster) -> None:
    """Claims are matched by the controller's naming, <template>-<statefulset>-<ordinal>.

    The StatefulSet has no replicas and the claims are made here, so no pod waits
    for storage and no Warning event crowds out the seeded ones.
    """
    name = "claims-sts"
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": "team-b"},
        "spec": {
            "replicas": 0,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "busybox"}]},
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }
            ],
        },
    }

    def claim(claim_name: str) -> dict[str, object]:
        return {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim_name},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }

    path = "/apis/apps/v1/namespaces/team-b/statefulsets"
    pvcs = "/api/v1/namespaces/team-b/persistentvolumeclaims"
    names = [f"data-{name}-0", f"data-{name}-1", f"data-other-{name}-0", f"data-{name}"]
    with kube_client(cluster.kubeconfig()) as kube:
        kube.post(path, json=sts).raise_for_status()
        for claim_name in names:
            kube.post(pvcs, json=claim(claim_name)).raise_for_status()
        try:
            url = f"/c/{cluster.name}/namespaces/team-b/statefulsets.apps/{name}"
            claims = related(detail(admin, url), "claims")["items"]
            assert [c["name"] for c in claims] == [f"data-{name}-0", f"data-{name}-1"]
            assert claims[0]["url"].endswith(f"/persistentvolumeclaims/data-{name}-0")
            assert claims[0]["phase"] == "Pending"
        finally:
            kube.delete(f"{path}/{name}")
            for claim_name in names:
                kube.delete(f"{pvcs}/{claim_name}")
