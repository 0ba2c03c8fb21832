"""Port-forward against the real API server and kwok's kubelet, whose every pod port is
an echo server: bytes sent to the local listener come back through
127.0.0.1 -> Kubelantern -> WebSocket (v4.channel.k8s.io) -> API server -> kwok."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from kubelantern.app import create_app
from tests.conftest import RealCluster, free_port, make_settings, wait_until
from tests.integration.operate_kit import Kube, a_deployment, writes

pytestmark = pytest.mark.timeout(180)

NS = "team-a"


def echo(port: int, payload: bytes | None = None) -> bytes:
    """Send a line to 127.0.0.1:port and read the same number of bytes back."""
    payload = payload or f"kl-pf-{uuid.uuid4().hex[:8]}\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    assert got == payload, (got, payload)
    return got


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


def ready_pods(kube: Kube, app: str) -> list[str]:
    items = kube.must(f"/api/v1/namespaces/{NS}/pods?labelSelector=app%3D{app}")["items"]
    return [
        p["metadata"]["name"]
        for p in items
        if not p["metadata"].get("deletionTimestamp")
        and any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p.get("status", {}).get("conditions", [])
        )
    ]


@pytest.fixture
def started(admin: TestClient) -> Iterator[Callable[..., dict[str, object]]]:
    ids: list[str] = []

    def start(path: str, **body: object) -> dict[str, object]:
        r = admin.post(path + "/portforward", json=body, headers=writes(admin))
        assert r.status_code == 201, r.text
        forward: dict[str, object] = r.json()["forward"]
        ids.append(str(forward["id"]))
        return forward

    yield start
    for forward_id in ids:
        admin.post(f"/-/portforwards/{forward_id}/stop", headers=writes(admin))


def test_pod_forward_relays_lists_and_stops(
    admin: TestClient, cluster: RealCluster, kube: Kube, started: Callable[..., dict[str, object]]
) -> None:
    with a_deployment(kube, "ops-pf") as dep:
        wait_until(lambda: len(ready_pods(kube, dep)) == 1, 60, "the pod to be ready")
        pod = ready_pods(kube, dep)[0]
        base = f"/c/{cluster.name}/namespaces/{NS}/pods/{pod}"
        page = admin.get(base + "/portforward.json").json()
        assert page["enabled"] is True and page["problem"] == ""
        local = free_port()
        forward = started(base, port=80, localPort=local)
        assert forward["address"] == f"127.0.0.1:{local}"
        echo(local)
        echo(local, b"x" * 200_000)  # more than one frame each way
        listed = admin.get("/-/portforwards.json").json()["forwards"]
        mine = next(f for f in listed if f["id"] == forward["id"])
        assert mine["pod"] == pod and mine["connections"] == 2
        assert f'data-forward="{forward["id"]}"' in admin.get(base + "/portforward").text
        activity = admin.get("/-/activity.json").json()["activity"]
        assert any(
            e["resource"] == "pods/portforward" and e["name"] == pod and e["result"] == "ok"
            for e in activity
        )
        stop = admin.post(f"/-/portforwards/{forward['id']}/stop", headers=writes(admin))
        assert stop.status_code == 200
        assert refused(local)
        assert all(
            f["id"] != forward["id"] for f in admin.get("/-/portforwards.json").json()["forwards"]
        )


def test_deployment_forward_survives_a_pod_restart(
    admin: TestClient, cluster: RealCluster, kube: Kube, started: Callable[..., dict[str, object]]
) -> None:
    with a_deployment(kube, "ops-pf") as dep:
        wait_until(lambda: len(ready_pods(kube, dep)) == 1, 60, "the pod to be ready")
        first = ready_pods(kube, dep)[0]
        forward = started(f"/c/{cluster.name}/namespaces/{NS}/deployments.apps/{dep}", port=8080)
        local = int(str(forward["localPort"]))
        assert local >= 1024  # a random free port
        echo(local)
        kube.delete(f"/api/v1/namespaces/{NS}/pods/{first}", gracePeriodSeconds="0")
        wait_until(
            lambda: [p for p in ready_pods(kube, dep) if p != first] != [],
            60,
            "a replacement pod",
        )
        wait_until(lambda: first not in ready_pods(kube, dep), 60, "the old pod gone")
        echo(local)  # the next connection goes to the new pod
        listed = admin.get("/-/portforwards.json").json()["forwards"]
        now = next(f for f in listed if f["id"] == forward["id"])["pod"]
        assert now != first and now in ready_pods(kube, dep)


def test_service_forward_maps_the_service_port(
    admin: TestClient, cluster: RealCluster, kube: Kube, started: Callable[..., dict[str, object]]
) -> None:
    with a_deployment(kube, "ops-pf") as dep:
        svc = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": dep},
            "spec": {"selector": {"app": dep}, "ports": [{"port": 8080, "targetPort": 80}]},
        }
        kube.apply(svc, f"/api/v1/namespaces/{NS}/services/{dep}")
        try:
            wait_until(lambda: len(ready_pods(kube, dep)) == 1, 60, "the pod to be ready")
            base = f"/c/{cluster.name}/namespaces/{NS}/services/{dep}"
            page = admin.get(base + "/portforward.json").json()
            assert page["ports"] == [{"port": 8080, "name": ""}]
            forward = started(base, port=8080)
            echo(int(str(forward["localPort"])))
            r = admin.post(base + "/portforward", json={"port": 9}, headers=writes(admin))
            assert r.status_code == 400 and "has no port 9" in r.json()["error"]["message"]
        finally:
            kube.delete(f"/api/v1/namespaces/{NS}/services/{dep}")


def test_refused_ports_say_why(
    admin: TestClient, bob: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    with a_deployment(kube, "ops-pf") as dep:
        wait_until(lambda: len(ready_pods(kube, dep)) == 1, 60, "the pod to be ready")
        base = f"/c/{cluster.name}/namespaces/{NS}/pods/{ready_pods(kube, dep)[0]}"
        low = admin.post(
            base + "/portforward", json={"port": 80, "localPort": 80}, headers=writes(admin)
        )
        assert low.status_code == 400 and "privileged" in low.json()["error"]["message"]
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            taken = busy.getsockname()[1]
            r = admin.post(
                base + "/portforward", json={"port": 80, "localPort": taken}, headers=writes(admin)
            )
            assert r.status_code == 409 and "in use" in r.json()["error"]["message"]
        r = bob.post(base + "/portforward", json={"port": 80}, headers=writes(bob))
        assert r.status_code == 403
        assert "pods/portforward" in r.json()["error"]["message"]
        page = bob.get(base + "/portforward")
        assert 'data-denied="portforward"' in page.text


def test_off_on_a_shared_server(cluster: RealCluster) -> None:
    for settings in (
        make_settings(cluster.kubeconfig("admin"), port_forward="off"),
        make_settings(cluster.kubeconfig("admin"), listen="0.0.0.0:4466"),
    ):
        with TestClient(create_app(settings)) as tc:
            base = f"/c/{cluster.name}/namespaces/{NS}/pods/whatever"
            r = tc.post(base + "/portforward", json={"port": 80}, headers=writes(tc))
            assert r.status_code == 403
            assert "Port-forward" in r.json()["error"]["message"]
