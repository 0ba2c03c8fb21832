"""What `up` creates before anything else: namespaces, RBAC of the test users,
Kubelantern's ServiceAccount (may only impersonate) and the fake kwok nodes."""

from __future__ import annotations

from typing import Any

from .layout import NODES, SA_NAMESPACE, SA_USER, TEAM_NAMESPACES

Obj = dict[str, Any]


def role_binding(ns: str, name: str, role: str, kind: str, subj: str) -> Obj:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": subj}],
    }


def bootstrap_objects() -> list[Obj]:
    objs: list[Obj] = []
    for ns in [*TEAM_NAMESPACES, SA_NAMESPACE]:
        objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    objs += [
        role_binding("team-a", "alice-edit", "edit", "User", "alice"),
        role_binding("team-b", "devs-edit", "edit", "Group", "devs"),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "bob-view"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "view",
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}],
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": SA_USER, "namespace": SA_NAMESPACE},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {
                "name": f"{SA_USER}-token",
                "namespace": SA_NAMESPACE,
                "annotations": {"kubernetes.io/service-account.name": SA_USER},
            },
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "kubelantern-impersonator"},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["users", "groups", "serviceaccounts"],
                    "verbs": ["impersonate"],
                },
                {
                    "apiGroups": ["authentication.k8s.io"],
                    "resources": ["uids", "userextras/*"],
                    "verbs": ["impersonate"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "kubelantern-impersonator"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "kubelantern-impersonator",
            },
            "subjects": [{"kind": "ServiceAccount", "name": SA_USER, "namespace": SA_NAMESPACE}],
        },
    ]
    for n in NODES:
        objs.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": n,
                    "annotations": {
                        "kwok.x-k8s.io/node": "fake",
                        "node.alpha.kubernetes.io/ttl": "0",
                    },
                    "labels": {
                        "type": "kwok",
                        "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": "amd64",
                        "kubernetes.io/hostname": n,
                        "node-role.kubernetes.io/worker": "",
                    },
                },
                "status": {
                    "capacity": {
                        "cpu": "32",
                        "memory": "256Gi",
                        "pods": "1000",
                        "ephemeral-storage": "500Gi",
                    },
                    "allocatable": {
                        "cpu": "32",
                        "memory": "256Gi",
                        "pods": "1000",
                        "ephemeral-storage": "500Gi",
                    },
                },
            }
        )
    return objs


def node_ready(node: Obj) -> bool:
    return any(
        cd.get("type") == "Ready" and cd.get("status") == "True"
        for cd in node.get("status", {}).get("conditions", [])
    )
