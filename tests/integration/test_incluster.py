"""``--in-cluster`` as the chart's own ServiceAccount, laid out as a pod sees it.

The chart is rendered, its ServiceAccount and RBAC are applied for real, and a
TokenRequest gives a token for that ServiceAccount. The token, the cluster CA
and the namespace go into a directory shaped like
/var/run/secrets/kubernetes.io/serviceaccount; KUBERNETES_SERVICE_HOST/PORT
point at the test API server; the real ``kubelantern serve`` runs with the
config file the chart's ConfigMap carries. Then we browse, and rotate the
token file under the running server.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from tests.conftest import RealCluster, ServerProcess, start_server, stop_server, wait_until
from tests.helmkit import Resources, apply, by_kind, config_file, delete, render
from tests.kube import kube_client

NAMESPACE = "kubelantern-system"


@dataclass
class Pod:
    """What a pod running the chart would have: SA dir, env, config file."""

    sa_dir: Path
    env: dict[str, str]
    config: Path
    service_account: str

    def write_token(self, token: str) -> None:
        # The kubelet swaps projected tokens atomically (a symlink flip); do the same.
        tmp = self.sa_dir / "..token.tmp"
        tmp.write_text(token)
        os.replace(tmp, self.sa_dir / "token")


def request_token(kube: httpx.Client, service_account: str) -> str:
    response = kube.post(
        f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{service_account}/token",
        json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["status"]["token"]
    return token


@pytest.fixture(scope="module")
def kube(cluster: RealCluster) -> httpx.Client:
    return kube_client(cluster.kubeconfig("admin"))


def install_identity(
    values: dict[str, Any],
    release: str,
    tmp: Path,
    cluster: RealCluster,
    kube: httpx.Client,
) -> Iterator[Pod]:
    """Apply the chart's ServiceAccount and RBAC for real; yield a pod's view; remove them."""
    objects = render(values, tmp, release=release, namespace=NAMESPACE)
    identity = [
        o for o in objects if o["kind"] in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding")
    ]
    resources = Resources(kube)
    for obj in identity:
        response = apply(kube, resources, obj, dry_run=False)
        assert response.status_code in (200, 201), response.text
    try:
        (sa,) = by_kind(objects, "ServiceAccount")
        name = sa["metadata"]["name"]
        admin = yaml.safe_load(Path(cluster.kubeconfig("admin")).read_text())
        ca = base64.b64decode(admin["clusters"][0]["cluster"]["certificate-authority-data"])
        server = urlsplit(admin["clusters"][0]["cluster"]["server"])
        sa_dir = tmp / f"{release}-serviceaccount"
        sa_dir.mkdir()
        (sa_dir / "ca.crt").write_bytes(ca)
        (sa_dir / "namespace").write_text(NAMESPACE)
        pod = Pod(
            sa_dir=sa_dir,
            env={
                "KUBERNETES_SERVICE_HOST": str(server.hostname),
                "KUBERNETES_SERVICE_PORT": str(server.port),
                "KUBELANTERN_SERVICEACCOUNT_DIR": str(sa_dir),
                "KUBECONFIG": "",
            },
            config=tmp / f"{release}.yaml",
            service_account=name,
        )
        pod.write_token(request_token(kube, name))
        pod.config.write_text(config_file(objects))
        yield pod
    finally:
        for obj in reversed(identity):
            delete(kube, resources, obj)


@pytest.fixture(scope="module")
def reader(
    cluster: RealCluster, kube: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pod]:
    """The chart's default install: kubeconfig mode, read-only RBAC."""
    values = {"requireClusters": True}
    yield from install_identity(
        values, "kl-reader", tmp_path_factory.mktemp("reader"), cluster, kube
    )


@pytest.fixture(scope="module")
def reader_server(reader: Pod) -> Iterator[ServerProcess]:
    # --listen (a flag) wins over the file's 0.0.0.0:4466; everything else is the chart's file.
    srv = start_server("--config", str(reader.config), env=reader.env)
    yield srv
    stop_server(srv)


def test_the_in_cluster_cluster_is_listed_and_reachable(reader_server: ServerProcess) -> None:
    clusters = httpx.get(reader_server.url + "/clusters.json", timeout=10).json()
    (only,) = clusters["clusters"]
    assert only["name"] == "in-cluster"
    assert only["reachable"] is True
    assert only["defaultNamespace"] == NAMESPACE  # from the namespace file
    wait_until(
        lambda: httpx.get(reader_server.url + "/readyz", timeout=5).status_code == 200,
        30,
        "/readyz with --require-clusters",
    )


def test_browses_with_the_chart_read_only_rights(reader_server: ServerProcess) -> None:
    base = reader_server.url + "/c/in-cluster"
    pods = httpx.get(base + "/namespaces/team-a/pods.json", timeout=10)
    assert pods.status_code == 200, pods.text[:300]
    assert pods.json()["rows"], "the seeded pods of team-a"
    page = httpx.get(base + "/namespaces/team-a/deployments.apps", timeout=10)
    assert page.status_code == 200 and "<table" in page.text
    nodes = httpx.get(base + "/nodes.json", timeout=10)  # the cluster-reader ClusterRole
    assert nodes.status_code == 200
    assert {r["name"] for r in nodes.json()["rows"]} >= {"kwok-node-0", "kwok-node-1"}
    # `view` has no Secrets: the API server says no, and Kubelantern shows it.
    secrets = httpx.get(base + "/namespaces/team-a/secrets.json", timeout=10)
    assert secrets.status_code == 403


def recreate_service_account(kube: httpx.Client, name: str) -> None:
    """Delete and re-create the ServiceAccount: every token issued before stops working."""
    path = f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{name}"
    old = kube.get(path).json()
    meta = {
        k: old["metadata"][k] for k in ("name", "labels", "annotations") if k in old["metadata"]
    }
    assert kube.delete(path).status_code == 200
    wait_until(lambda: kube.get(path).status_code == 404, 30, f"ServiceAccount {name} gone")
    made = kube.post(
        f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts",
        json={"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
    )
    assert made.status_code == 201, made.text


def test_a_rotated_token_file_is_used_by_the_next_request(
    reader: Pod, reader_server: ServerProcess, kube: httpx.Client
) -> None:
    """The server keeps the token it read for a minute, and reads the file again on a 401."""
    url = reader_server.url + "/c/in-cluster/namespaces/team-a/pods.json"
    assert httpx.get(url, timeout=10).status_code == 200
    try:
        reader.write_token("not-a-token")
        # The token the server holds stops working: the 401 makes it read the
        # file again, and what it finds there is refused too.
        recreate_service_account(kube, reader.service_account)
        wait_until(
            lambda: httpx.get(url, timeout=10).status_code == 401, 60, "the revoked token refused"
        )
    finally:
        reader.write_token(request_token(kube, reader.service_account))
    assert httpx.get(url, timeout=10).status_code == 200


@pytest.fixture(scope="module")
def impersonator(
    cluster: RealCluster, kube: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pod]:
    """The chart in impersonate mode behind a proxy at 127.0.0.1 (the test client)."""
    values = {"auth": {"mode": "impersonate", "trustedProxies": "127.0.0.1/32"}}
    yield from install_identity(values, "kl-imp", tmp_path_factory.mktemp("imp"), cluster, kube)


def test_impersonation_as_the_chart_service_account(impersonator: Pod) -> None:
    srv = start_server("--config", str(impersonator.config), env=impersonator.env)
    try:
        base = srv.url + "/c/in-cluster"

        def as_user(user: str, path: str) -> int:
            headers = {"X-Forwarded-User": user, "Accept": "application/json"}
            return httpx.get(base + path, headers=headers, timeout=10).status_code

        assert as_user("bob", "/pods") == 200  # bob: view everywhere
        assert as_user("alice", "/namespaces/team-a/pods") == 200  # alice: edit in team-a
        assert as_user("alice", "/namespaces/team-b/pods") == 403
        # No identity: the ServiceAccount's own rights are never used for a page.
        anonymous = httpx.get(base + "/namespaces/team-a/pods.json", timeout=10)
        assert anonymous.status_code == 401
    finally:
        stop_server(srv)
