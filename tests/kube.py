"""Talk to the test API server directly (to create and delete objects in tests)."""

from __future__ import annotations

import httpx

from kubelantern.clusters.kubeconfig import load_files
from kubelantern.clusters.tls import make_ssl_context


def kube_client(kubeconfig: str) -> httpx.Client:
    """An httpx client authenticated as the kubeconfig's user."""
    (cfg,) = load_files([kubeconfig])
    ctx = make_ssl_context(
        ca_data=cfg.ca_data,
        insecure=cfg.insecure_skip_tls_verify,
        client_cert=cfg.client_cert_data,
        client_key=cfg.client_key_data,
    )
    headers = {"Authorization": f"Bearer {cfg.token}"} if cfg.token else {}
    return httpx.Client(base_url=cfg.server, verify=ctx, headers=headers, timeout=30)


def pod_manifest(name: str, namespace: str, **labels: str) -> dict[str, object]:
    """A bare pod bound to a kwok node (so it needs no scheduler and goes Running)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {"test": name}},
        "spec": {
            "nodeName": "kwok-node-0",
            "containers": [{"name": "main", "image": "busybox"}],
            "tolerations": [{"operator": "Exists"}],
        },
    }
