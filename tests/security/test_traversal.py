"""Path traversal: static files, plugin static files, object names.

Raw request lines go through ``http.client`` to the real server process, so
``..`` reaches Kubelantern as sent (httpx would normalise it away).
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from kubelantern.app import create_app
from tests.conftest import RealCluster, ServerProcess, make_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plugins"
SOURCE_MARKERS = ("from __future__", "import ", "apiVersion: v1", "BEGIN", "client-key-data")

TRAVERSALS = (
    "../../app.py",
    "..%2f..%2fapp.py",
    "%2e%2e/%2e%2e/app.py",
    "%2e%2e%2f%2e%2e%2fapp.py",
    "..\\..\\app.py",
    "..%5c..%5capp.py",
    "%252e%252e%252fapp.py",
    "....//....//app.py",
    "/etc/passwd",
    "..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "%00../app.py",
)


def raw_get(server: ServerProcess, path: str) -> tuple[int, str]:
    """Status and body; 400 when the HTTP parser already refuses the request line."""
    url = urlsplit(server.url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    except http.client.RemoteDisconnected:
        return 400, ""  # uvicorn drops a request line it cannot parse (a NUL byte, ...)
    finally:
        conn.close()


def leaked(body: str) -> bool:
    return any(marker in body for marker in SOURCE_MARKERS) or "root:x:0:0" in body


def test_static_files_never_leave_their_folder(server: ServerProcess) -> None:
    for attack in TRAVERSALS:
        status, body = raw_get(server, f"/-/static/{attack}")
        assert status in (400, 404), f"/-/static/{attack}: {status}"
        assert not leaked(body), attack
    assert raw_get(server, "/clusters.json")[0] == 200  # still serving


@pytest.fixture(scope="module")
def with_plugins(cluster: RealCluster) -> Iterator[TestClient]:
    settings = make_settings(cluster.kubeconfig("admin"), plugins_dir=(str(EXAMPLES),))
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        yield tc


def test_plugin_static_files_never_leave_their_folder(with_plugins: TestClient) -> None:
    assert with_plugins.get("/-/p/widgets/static/widgets.css").status_code == 200
    for attack in TRAVERSALS:
        r = with_plugins.get(f"/-/p/widgets/static/{attack}")
        assert r.status_code in (400, 404), f"{attack}: {r.status_code}"
        assert not leaked(r.text), attack


def test_object_names_cannot_reach_other_objects(client_for: object, cluster: RealCluster) -> None:
    """alice may read team-a only; a name that climbs out of it must not read team-b."""
    alice: TestClient = client_for("alice")  # type: ignore[operator]
    assert alice.get(f"/c/{cluster.name}/namespaces/team-b/configmaps.json").status_code == 403
    base = f"/c/{cluster.name}/namespaces/team-a/configmaps"
    for attack in (
        "..%2F..%2Fteam-b%2Fconfigmaps%2Fkube-root-ca.crt",
        "%2e%2e%2f%2e%2e%2fteam-b%2fconfigmaps%2fkube-root-ca.crt",
        "..%252F..%252Fteam-b%252Fconfigmaps%252Fkube-root-ca.crt",
        "kube-root-ca.crt%2F..%2F..%2F..%2Fteam-b%2Fconfigmaps%2Fkube-root-ca.crt",
        "%2e%2e",
        "%2e",
    ):
        for suffix in ("", ".json", "/-/edit", "/-/yaml"):
            r = alice.get(f"{base}/{attack}{suffix}", headers={"Accept": "application/json"})
            assert r.status_code in (400, 403, 404), f"{attack}{suffix}: {r.status_code}"
            assert "team-b" not in r.text or r.status_code != 200
    assert alice.get(f"{base}/kube-root-ca.crt.json").status_code == 200
    pods = f"/c/{cluster.name}/namespaces/team-a/pods"
    for attack in ("%2e%2e", "%2e"):
        for suffix in ("/logs", "/logs/stream", "/-/logs"):
            r = alice.get(f"{pods}/{attack}{suffix}", headers={"Accept": "application/json"})
            assert r.status_code in (400, 404), f"pods/{attack}{suffix}: {r.status_code}"
