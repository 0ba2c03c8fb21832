"""Who uses an object: pods of a ConfigMap/Secret, bindings of a role or ServiceAccount.

Each test makes its own objects in team-a (unique names) as admin and reads
the detail pages as admin, and as people with less access where it matters.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import RealCluster
from tests.integration.operate_kit import Kube, unique
from tests.integration.test_detail import detail, related

pytestmark = pytest.mark.cluster

RBAC = "/apis/rbac.authorization.k8s.io/v1"


@pytest.fixture
def made(kube: Kube) -> Iterator[list[str]]:
    """Paths to delete after the test, filled by the test."""
    paths: list[str] = []
    yield paths
    for path in reversed(paths):
        kube.delete(path)


def create(kube: Kube, made: list[str], path: str, obj: dict[str, Any]) -> None:
    kube.apply(obj, f"{path}/{obj['metadata']['name']}")
    made.append(f"{path}/{obj['metadata']['name']}")


def pod(name: str, cm: str, secret: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "team-a"},
        "spec": {
            "volumes": [
                {"name": "conf", "configMap": {"name": cm}},
                {
                    "name": "bundle",
                    "projected": {"sources": [{"secret": {"name": secret}}]},
                },
            ],
            "imagePullSecrets": [{"name": secret}],
            "containers": [
                {
                    "name": "main",
                    "image": "busybox:1.36",
                    "env": [
                        {
                            "name": "MODE",
                            "valueFrom": {"configMapKeyRef": {"name": cm, "key": "mode"}},
                        }
                    ],
                    "envFrom": [{"secretRef": {"name": secret}}],
                }
            ],
        },
    }


def test_pods_using_a_configmap_and_a_secret(
    admin: TestClient, bob: TestClient, cluster: RealCluster, kube: Kube, made: list[str]
) -> None:
    cm, secret, user, other = (unique(p) for p in ("ops-cm", "ops-sec", "ops-user", "ops-other"))
    ns_api = "/api/v1/namespaces/team-a"
    cm_obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": cm}, "data": {}}
    create(kube, made, f"{ns_api}/configmaps", cm_obj)
    sec_obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": secret}, "data": {}}
    create(kube, made, f"{ns_api}/secrets", sec_obj)
    create(kube, made, f"{ns_api}/pods", pod(user, cm, secret))
    create(kube, made, f"{ns_api}/pods", pod(other, "someone-else", "nobody"))

    base = f"/c/{cluster.name}/namespaces/team-a"
    pods = related(detail(admin, f"{base}/configmaps/{cm}"), "pods")
    assert pods["error"] == ""
    (entry,) = pods["items"]
    assert entry["name"] == user and entry["url"] == f"{base}/pods/{user}"
    assert entry["uses"] == ["volume conf", "env MODE (main)"]

    (entry,) = related(detail(admin, f"{base}/secrets/{secret}"), "pods")["items"]
    assert entry["uses"] == ["projected volume bundle", "envFrom (main)", "imagePullSecrets"]

    page = admin.get(f"{base}/configmaps/{cm}").text
    assert 'id="related-pods"' in page and f'data-name="{user}"' in page
    assert f'data-name="{other}"' not in page
    # bob may read pods: he sees the same list on the ConfigMap.
    assert [
        p["name"] for p in related(detail(bob, f"{base}/configmaps/{cm}"), "pods")["items"]
    ] == [user]


def test_bindings_of_roles_and_service_accounts(
    admin: TestClient, alice: TestClient, cluster: RealCluster, kube: Kube, made: list[str]
) -> None:
    sa, role, crole = unique("ops-sa"), unique("ops-role"), unique("ops-crole")
    rb, crb, rb_c = unique("ops-rb"), unique("ops-crb"), unique("ops-rbc")
    create(
        kube,
        made,
        "/api/v1/namespaces/team-a/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa}},
    )
    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    create(
        kube,
        made,
        f"{RBAC}/namespaces/team-a/roles",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": role},
            "rules": rules,
        },
    )
    create(
        kube,
        made,
        f"{RBAC}/clusterroles",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": crole},
            "rules": rules,
        },
    )
    subject = {"kind": "ServiceAccount", "name": sa}  # namespace: the binding's
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding"}
    create(
        kube,
        made,
        f"{RBAC}/namespaces/team-a/rolebindings",
        {
            **binding,
            "metadata": {"name": rb},
            "subjects": [subject],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
        },
    )
    create(
        kube,
        made,
        f"{RBAC}/namespaces/team-a/rolebindings",
        {
            **binding,
            "metadata": {"name": rb_c},
            "subjects": [{"kind": "User", "name": "x"}],
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": crole,
            },
        },
    )
    create(
        kube,
        made,
        f"{RBAC}/clusterrolebindings",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": crb},
            "subjects": [{**subject, "namespace": "team-a"}],
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": crole,
            },
        },
    )
    c = f"/c/{cluster.name}"

    def names(data: dict[str, Any]) -> set[tuple[str, str]]:
        rel = related(data, "bindings")
        assert rel["error"] == "", rel
        return {(b["kind"], b["name"]) for b in rel["items"]}

    assert names(
        detail(admin, f"{c}/namespaces/team-a/roles.rbac.authorization.k8s.io/{role}")
    ) == {("RoleBinding", rb)}
    assert names(detail(admin, f"{c}/clusterroles.rbac.authorization.k8s.io/{crole}")) == {
        ("RoleBinding", rb_c),
        ("ClusterRoleBinding", crb),
    }
    sa_data = detail(admin, f"{c}/namespaces/team-a/serviceaccounts/{sa}")
    assert names(sa_data) == {("RoleBinding", rb), ("ClusterRoleBinding", crb)}
    (entry,) = [b for b in related(sa_data, "bindings")["items"] if b["name"] == rb]
    assert entry["role"]["url"] == f"{c}/namespaces/team-a/roles.rbac.authorization.k8s.io/{role}"
    page = admin.get(f"{c}/namespaces/team-a/serviceaccounts/{sa}").text
    assert f'data-binding="ClusterRoleBinding//{crb}"' in page

    # alice may not list bindings everywhere: the section says so, the page still renders.
    alice_sa = detail(alice, f"{c}/namespaces/team-a/serviceaccounts/{sa}")
    rel = related(alice_sa, "bindings")
    assert rel["forbidden"] is True and rel["items"] == []
