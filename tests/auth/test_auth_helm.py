"""helm runs as the signed-in person, in modes bearer and impersonate, through OAuth2 Proxy.

In mode bearer the kubeconfig context Kubelantern was given holds the *admin*
client certificate, and in mode impersonate Kubelantern's ServiceAccount may
impersonate anyone: if helm ran with either identity, alice (edit in team-a,
nothing cluster-wide) could add a ClusterRole to a release. She must not.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import httpx
import pytest

from tests.auth.conftest import BEARER, IMPERSONATE, AuthStack
from tests.conftest import ROOT
from tests.helmkit import helm_binary
from tests.integration.operate_kit import unique
from tests.kube import kube_client

CHART = ROOT / "tests" / "data" / "helm" / "demo-v2"


def helm(stack: AuthStack, *args: str, check: bool = True) -> None:
    subprocess.run(
        [helm_binary(), *args, "--kubeconfig", stack.cluster.kubeconfig("admin")],
        capture_output=True,
        timeout=300,
        check=check,
        env={"HOME": "/tmp", "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture
def release(auth_stack: AuthStack) -> Iterator[str]:
    name = unique("auth-rel")
    helm(auth_stack, "install", name, str(CHART), "-n", "team-a")
    yield name
    helm(auth_stack, "uninstall", name, "-n", "team-a", check=False)


def upgrade(client: httpx.Client, cluster: str, name: str, values: str) -> httpx.Response:
    client.get(f"/c/{cluster}/namespaces/team-a/helm")  # sets the CSRF cookie
    return client.post(
        f"/c/{cluster}/namespaces/team-a/helm/{name}/upgrade",
        json={"values": values},
        headers={"X-CSRF-Token": client.cookies["kl_csrf"], "Accept": "application/json"},
    )


@pytest.mark.parametrize("mode", [BEARER, IMPERSONATE])
def test_helm_acts_with_the_persons_rights_only(
    auth_stack: AuthStack, release: str, mode: str
) -> None:
    alice = auth_stack.sign_in("alice")
    listed = alice.get(f"/c/{mode}/namespaces/team-a/helm.json").json()
    assert release in [r["name"] for r in listed["releases"]]

    r = upgrade(alice, mode, release, "greeting: from alice\n")
    assert r.status_code == 200, r.text
    data = alice.get(f"/c/{mode}/namespaces/team-a/helm/{release}.json").json()
    assert data["release"]["revision"] == 2
    assert data["shown"]["values"] == {"greeting": "from alice"}

    r = upgrade(alice, mode, release, "clusterRole: true\n")
    assert r.status_code == 403, r.text
    assert "forbidden" in r.text.lower() and "clusterroles" in r.text
    with kube_client(auth_stack.cluster.kubeconfig("admin")) as admin:
        path = f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{release}-reader"
        assert admin.get(path).status_code == 404
