"""Kubeconfig files: one per test user (client certificates) and per component."""

from __future__ import annotations

import base64
import os
from typing import Any

import yaml

from .common import write_file
from .layout import USERS, Cluster


def b64file(path: str) -> str:
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def kubeconfig(
    c: Cluster, server: str, user: str, cert_base: str | None = None, token: str | None = None
) -> str:
    """A one-context kubeconfig trusting the cluster CA; a client certificate or a token."""
    u: dict[str, Any] = {}
    if cert_base:
        u = {
            "client-certificate-data": b64file(os.path.join(c.pki, cert_base + ".crt")),
            "client-key-data": b64file(os.path.join(c.pki, cert_base + ".key")),
        }
    if token:
        u = {"token": token}
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": c.name,
                    "cluster": {
                        "server": server,
                        "certificate-authority-data": b64file(os.path.join(c.pki, "ca.crt")),
                    },
                }
            ],
            "users": [{"name": user, "user": u}],
            "contexts": [{"name": c.name, "context": {"cluster": c.name, "user": user}}],
            "current-context": c.name,
            "preferences": {},
        },
        sort_keys=False,
    )


def write_kubeconfigs(c: Cluster, server: str) -> None:
    """The components' kubeconfigs (internal/) and every certificate user's."""
    os.makedirs(c.internal, exist_ok=True)
    for comp, base in (
        ("kube-controller-manager", "kube-controller-manager"),
        ("kube-scheduler", "kube-scheduler"),
        ("kwok", "kwok"),
    ):
        write_file(
            os.path.join(c.internal, f"{comp}.kubeconfig"), kubeconfig(c, server, comp, base), 0o600
        )
    for user in USERS:
        write_file(c.kubeconfig_path(user), kubeconfig(c, server, user, f"user-{user}"), 0o600)
