"""Node shells against the real API server: off by default; on, the privileged pod is
created on the node with the person's own credentials, the terminal attaches to it
(kwok's kubelet), and the pod is deleted when the session ends or its TTL passes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from starlette.testclient import TestClient
from websockets.sync.client import connect

from kubelantern.app import create_app
from tests.conftest import (
    RealCluster,
    ServerProcess,
    make_settings,
    start_server,
    stop_server,
    wait_until,
)
from tests.integration.operate_kit import Kube, writes

pytestmark = pytest.mark.timeout(180)

NODE = "kwok-node-1"
NS = "team-a"


@pytest.fixture(scope="module")
def shells_on(cluster: RealCluster) -> Iterator[TestClient]:
    settings = make_settings(cluster.kubeconfig("admin"), node_shell=True, node_shell_namespace=NS)
    with TestClient(create_app(settings)) as tc:
        yield tc


@pytest.fixture(scope="module")
def shell_server(cluster: RealCluster) -> Iterator[ServerProcess]:
    """The real server process: the terminal's WebSocket ends as a browser's does."""
    server = start_server(
        "--kubeconfig", cluster.kubeconfig("admin"), "--node-shell", "--node-shell-namespace", NS
    )
    yield server
    stop_server(server)


def app_state_of(app: Any) -> Any:
    """The AppState inside the middleware stack."""
    while not hasattr(getattr(app, "state", None), "kl"):
        app = app.app
    return app.state.kl


def shell_pods(kube: Kube) -> list[dict[str, Any]]:
    items = kube.must(f"/api/v1/namespaces/{NS}/pods?labelSelector=kubelantern.io%2Fnode-shell")[
        "items"
    ]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def test_off_by_default(admin: TestClient, cluster: RealCluster) -> None:
    node = admin.get(f"/c/{cluster.name}/nodes/{NODE}")
    assert node.status_code == 200
    assert 'data-action="node-shell"' not in node.text  # no button for what is off
    page = admin.get(f"/c/{cluster.name}/nodes/{NODE}/shell")
    assert page.status_code == 200
    assert 'data-denied="node-shell"' in page.text and "--node-shell" in page.text
    r = admin.post(f"/c/{cluster.name}/nodes/{NODE}/shell", headers=writes(admin))
    assert r.status_code == 403


def test_shell_pod_lives_for_the_session(
    shell_server: ServerProcess, cluster: RealCluster, kube: Kube
) -> None:
    with httpx.Client(base_url=shell_server.url, timeout=90) as tc:
        tc.get("/clusters.json")
        hdrs = {"X-CSRF-Token": tc.cookies["kl_csrf"], "Accept": "application/json"}
        base = f"/c/{cluster.name}/nodes/{NODE}/shell"
        page = tc.get(base + ".json").json()
        assert page["enabled"] is True and page["problem"] == ""
        r = tc.post(base, headers=hdrs)
        assert r.status_code == 201, r.text
        result = r.json()["result"]
        assert result["phase"] == "Running" and result["node"] == NODE
        pod = kube.must(f"/api/v1/namespaces/{NS}/pods/{result['pod']}")
        spec = pod["spec"]
        assert spec["nodeName"] == NODE and spec["hostPID"] and spec["hostNetwork"]
        assert spec["activeDeadlineSeconds"] == 3600
        (c,) = spec["containers"]
        assert c["securityContext"]["privileged"] is True
        assert c["command"][:3] == ["nsenter", "--target", "1"]
        activity = tc.get("/-/activity.json").json()["activity"]
        assert any(e["resource"] == "pods/node-shell" and e["name"] == NODE for e in activity)

    # The terminal, as the browser opens it, against the real server process.
    token = httpx.get(shell_server.url + "/clusters.json").cookies["kl_csrf"]
    url = shell_server.url + result["attachUrl"]
    ws_url = "ws" + url[len("http") :]
    with connect(
        ws_url,
        additional_headers={"Cookie": f"kl_csrf={token}", "Origin": shell_server.url},
        open_timeout=10,
    ) as ws:
        ws.send(orjson.dumps({"type": "hello", "csrf": token, "cols": 80, "rows": 24}).decode())
        event = orjson.loads(ws.recv(timeout=20))
        assert event["type"] == "connected", event
    # The browser left: the pod goes with the session.
    wait_until(
        lambda: all(p["metadata"]["name"] != result["pod"] for p in shell_pods(kube)),
        30,
        "the shell pod to be deleted",
    )


def test_ttl_sweep_deletes_abandoned_shells(
    shells_on: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    tc = shells_on
    r = tc.post(f"/c/{cluster.name}/nodes/{NODE}/shell", headers=writes(tc))
    assert r.status_code == 201, r.text
    name = r.json()["result"]["pod"]
    assert any(p["metadata"]["name"] == name for p in shell_pods(kube))
    # The browser never attached; once the TTL has passed, the sweep deletes the pod.
    swept = tc.portal.call(app_state_of(tc.app).shells.sweep, float("inf"))  # type: ignore[union-attr]
    assert swept == 1
    wait_until(
        lambda: all(p["metadata"]["name"] != name for p in shell_pods(kube)),
        30,
        "the abandoned shell pod to be deleted",
    )
