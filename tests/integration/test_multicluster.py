"""Two real control planes side by side; one is stopped mid-test and comes back.

Cluster A is the session cluster seen as admin; cluster B is a second control
plane seen as bob (view only), so the two clusters are used with different
users. An exec credential plugin (a script printing an ExecCredential) is
tested against A.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from kubelantern.app import create_app
from kubelantern.settings import Settings
from tests.conftest import TEST_CLUSTER, RealCluster, run_cluster, start_cluster, wait_until

SECOND = f"{TEST_CLUSTER}-b"


@pytest.fixture(scope="module")
def second() -> Iterator[RealCluster]:
    tc = start_cluster(SECOND)
    yield tc
    if os.environ.get("KUBELANTERN_TEST_KEEP") != "1":
        run_cluster("down", "--name", SECOND)


@pytest.fixture(scope="module")
def both(cluster: RealCluster, second: RealCluster) -> Iterator[TestClient]:
    settings = Settings(
        kubeconfig=(cluster.kubeconfig("admin"), second.kubeconfig("bob")), request_timeout=5
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_both_clusters_listed_with_health(
    both: TestClient, cluster: RealCluster, second: RealCluster
) -> None:
    data = both.get("/clusters.json").json()
    by_name = {c["name"]: c for c in data["clusters"]}
    assert set(by_name) == {cluster.name, second.name}
    for entry in by_name.values():
        assert entry["reachable"] is True and entry["credentialsOk"] is True
        assert entry["version"].startswith("v1.37")
        assert entry["latencyMs"] >= 0


def test_cross_cluster_list_has_cluster_column(
    both: TestClient, cluster: RealCluster, second: RealCluster
) -> None:
    data = both.get("/-/list/deployments.apps.json?namespaces=team-a").json()
    assert data["columns"][0]["name"] == "Cluster"
    clusters = {r["cluster"] for r in data["rows"]}
    assert clusters == {cluster.name, second.name}
    assert all(r["cells"][0] == r["cluster"] for r in data["rows"])
    assert data["failures"] == {}
    page = both.get("/-/list/deployments.apps?namespaces=team-a").text
    assert f'data-cluster-row="{second.name}"' in page
    assert "data-live-table" in page


def test_cross_cluster_field_selector(both: TestClient, cluster: RealCluster) -> None:
    data = both.get("/-/list/pods.json", params={"fieldSelector": "status.phase!=Running"}).json()
    names = {(r["cluster"], r["name"]) for r in data["rows"]}
    assert (cluster.name, "broken") in names
    assert all(r["cells"][3] != "Running" for r in data["rows"])


def test_partial_results_name_the_failing_cluster(
    both: TestClient, cluster: RealCluster, second: RealCluster
) -> None:
    data = both.get("/-/list/secrets.json?namespaces=team-a").json()
    assert {r["cluster"] for r in data["rows"]} == {cluster.name}  # bob may not list secrets
    assert "Forbidden" in data["failures"][second.name]
    page = both.get("/-/list/secrets?namespaces=team-a").text
    assert f'data-failed-cluster="{second.name}"' in page


def test_global_search_spans_clusters(both: TestClient, second: RealCluster) -> None:
    hits = both.get("/-/search.json?q=node-exporter").json()["results"]
    clusters = {h["cluster"] for h in hits if h["type"] == "object"}
    assert second.name in clusters and len(clusters) == 2


def test_stopped_cluster_is_unreachable_then_recovers(
    both: TestClient, cluster: RealCluster, second: RealCluster
) -> None:
    run_cluster("down", "--name", second.name)
    try:
        # The other cluster keeps working...
        assert both.get(f"/c/{cluster.name}/namespaces/team-a/pods.json").status_code == 200
        # ...the stopped one says so, quickly and clearly.
        resp = both.get(f"/c/{second.name}/namespaces/team-a/pods.json")
        assert resp.status_code == 502
        assert resp.json()["error"]["reason"] == "ClusterUnavailable"
        states = {c["name"]: c["reachable"] for c in both.get("/clusters.json").json()["clusters"]}
        assert states == {cluster.name: True, second.name: False}
        merged = both.get("/-/list/pods.json?namespaces=team-a").json()
        assert second.name in merged["failures"]
        assert {r["cluster"] for r in merged["rows"]} == {cluster.name}
    finally:
        run_cluster("up", "--name", second.name)
    wait_until(
        lambda: both.get(f"/c/{second.name}/namespaces/team-a/pods.json").status_code == 200,
        60,
        "the restarted cluster to answer again",
    )


def write_exec_kubeconfig(tmp_path: Path, cluster: RealCluster) -> tuple[Path, Path]:
    """A kubeconfig whose user is an exec plugin printing the kubelantern SA's token."""
    sa = yaml.safe_load(Path(cluster.kubeconfig("kubelantern")).read_text())
    token = sa["users"][0]["user"]["token"]
    admin = yaml.safe_load(Path(cluster.kubeconfig("admin")).read_text())
    calls = tmp_path / "calls"
    plugin = tmp_path / "get-token"
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": token, "expirationTimestamp": "2099-01-01T00:00:00Z"},
    }
    plugin.write_text(
        "#!/bin/sh\n"
        f'echo "$KUBERNETES_EXEC_INFO" >> "{calls}"\n'
        f"cat <<'EOF'\n{json.dumps(credential)}\nEOF\n"
    )
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    admin["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "./get-token",
            "interactiveMode": "Never",
        }
    }
    path = tmp_path / "exec-kubeconfig.yaml"
    path.write_text(yaml.safe_dump(admin))
    return path, calls


def test_exec_credential_plugin(cluster: RealCluster, tmp_path: Path) -> None:
    path, calls = write_exec_kubeconfig(tmp_path, cluster)
    settings = Settings(kubeconfig=(str(path),))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        probe = client.get("/clusters.json").json()["clusters"][0]
        assert probe["reachable"] is True and probe["credentialsOk"] is True
        # The API server saw the plugin's identity: the kubelantern ServiceAccount.
        refused = client.get(f"/c/{cluster.name}/namespaces/team-a/secrets.json").json()
        assert "system:serviceaccount:kubelantern-system:kubelantern" in refused["error"]["message"]
    lines = calls.read_text().splitlines()
    assert len(lines) == 1  # cached until its expirationTimestamp
    assert json.loads(lines[0])["kind"] == "ExecCredential"


def test_switching_cluster_keeps_the_view(both: TestClient, second: RealCluster) -> None:
    kept = both.get(
        "/-/switch",
        params={"to": second.name, "path": "namespaces/team-a/deployments.apps?sort=Name"},
        follow_redirects=False,
    )
    assert kept.status_code == 303
    assert (
        kept.headers["location"] == f"/c/{second.name}/namespaces/team-a/deployments.apps?sort=Name"
    )
    missing = both.get(
        "/-/switch",
        params={"to": second.name, "path": "namespaces/team-a/gizmos.example.com"},
        follow_redirects=False,
    )
    assert missing.headers["location"] == f"/c/{second.name}/"
    assert both.get("/-/switch", params={"to": "nope", "path": ""}).status_code == 404


def test_cluster_switcher_in_the_sidebar(
    both: TestClient, cluster: RealCluster, second: RealCluster
) -> None:
    page = both.get(f"/c/{cluster.name}/namespaces/team-a/pods").text
    assert "data-cluster-select" in page
    assert f'<option value="{second.name}"' in page
    assert 'name="path" value="namespaces/team-a/pods"' in page
