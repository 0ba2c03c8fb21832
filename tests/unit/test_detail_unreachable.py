"""Detail and overview pages of a cluster that cannot be reached (a closed port on
127.0.0.1 stands in for the network): a clear status, never a trace."""

from __future__ import annotations

import socket

from starlette.testclient import TestClient

from kubelantern.app import create_app
from kubelantern.clusters.kubeconfig import ClusterConfig
from kubelantern.settings import Settings


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_with(config: ClusterConfig) -> TestClient:
    settings = Settings(request_timeout=1.0)
    return TestClient(create_app(settings, clusters=[config]), raise_server_exceptions=False)


def test_detail_of_an_unreachable_cluster() -> None:
    dead = ClusterConfig(name="dead", server=f"https://127.0.0.1:{closed_port()}")
    with app_with(dead) as client:
        resp = client.get("/c/dead/namespaces/team-a/pods/web.json")
        assert resp.status_code == 502
        assert resp.json()["error"]["reason"] == "ClusterUnavailable"
        page = client.get("/c/dead/namespaces/team-a/pods/web")
        assert page.status_code == 502 and "Cluster unreachable" in page.text


def test_overview_of_an_unreachable_cluster_says_so_per_part() -> None:
    dead = ClusterConfig(name="dead", server=f"https://127.0.0.1:{closed_port()}")
    with app_with(dead) as client:
        data = client.get("/c/dead/", headers={"Accept": "application/json"}).json()
        assert data["cluster"]["reachable"] is False
        for part in ("nodes", "pods", "capacity", "warnings"):
            assert data[part]["error"].startswith("cannot reach https://127.0.0.1:")
            assert data[part]["forbidden"] is False
        page = client.get("/c/dead/")
        assert page.status_code == 200 and "Traceback" not in page.text
        assert "unreachable: cannot reach https://127.0.0.1:" in page.text
        assert "Could not load: cannot reach" in page.text
