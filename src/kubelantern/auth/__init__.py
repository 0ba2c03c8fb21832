"""Who the user is, and which credentials their requests carry."""

from __future__ import annotations

from starlette.requests import Request

from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.store import Cluster


def credentials_for(request: Request, cluster: Cluster) -> Credentials | None:
    """The credentials of this request for this cluster.

    ``None`` means the cluster's own kubeconfig credentials (local mode).
    """
    return None


def identity_key(request: Request, cluster: Cluster) -> str:
    """A stable, non-secret key of who is asking, for per-user caches."""
    return f"kubeconfig:{cluster.slug}"
