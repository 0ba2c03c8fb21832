"""The cluster Kubelantern runs in, from the ServiceAccount files a pod gets.

The token is a projected ServiceAccount token that the kubelet rotates on
disk, so it is given as ``token_file``: read again every minute and at once
after a 401 (see ``KubeconfigCredentials``), so a rotation is picked up.
"""

from __future__ import annotations

import os
from pathlib import Path

from kubelantern.clusters.kubeconfig import ClusterConfig, KubeconfigError

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def in_cluster_config(
    name: str = "in-cluster",
    sa_dir: str | None = None,
    environ: dict[str, str] | None = None,
) -> ClusterConfig:
    """A ClusterConfig for the API server of the pod's own cluster."""
    env = dict(os.environ if environ is None else environ)
    directory = Path(sa_dir or env.get("KUBELANTERN_SERVICEACCOUNT_DIR") or SA_DIR)
    host = env.get("KUBERNETES_SERVICE_HOST")
    port = env.get("KUBERNETES_SERVICE_PORT_HTTPS") or env.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise KubeconfigError(
            "--in-cluster: KUBERNETES_SERVICE_HOST is not set (is Kubelantern running in a pod?)"
        )
    token = directory / "token"
    ca = directory / "ca.crt"
    for path in (token, ca):
        if not path.is_file():
            raise KubeconfigError(f"--in-cluster: {path} is missing (no ServiceAccount mounted?)")
    namespace_file = directory / "namespace"
    namespace = namespace_file.read_text().strip() if namespace_file.is_file() else None
    server_host = f"[{host}]" if ":" in host else host
    return ClusterConfig(
        name=name,
        server=f"https://{server_host}:{port}",
        ca_data=ca.read_bytes(),
        token_file=str(token),
        namespace=namespace,
        source="in-cluster",
    )
