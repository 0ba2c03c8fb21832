"""The read-only switches: global (``--read-only``) and per cluster.

Enforced on the server, in two places: the web layer's ``ReadOnlyGuard``
(``web/readonly.py``) refuses every unsafe HTTP method and every WebSocket
(exec, attach) under ``/c/<cluster>/`` before a handler runs, and each write
function calls ``ensure_writable`` again, so a write path added later without
the middleware in front is still refused. The rule itself lives here.
Templates ask ``read_only(cluster)`` to leave write buttons out.
"""

from __future__ import annotations

from kubelantern import errors
from kubelantern.clusters.store import Cluster, ClusterStore
from kubelantern.settings import Settings


def is_read_only(settings: Settings, cluster: Cluster | str) -> bool:
    """Whether writes to ``cluster`` (a Cluster, or its URL name) are switched off.

    An operator may name a cluster by its URL name, its display name or its
    kubeconfig context name (``team:prod/eu``, an EKS ARN): the slug alone
    differs from a context name with ``:`` or ``/``, and a display name hides
    the context name, so all three are compared, or a cluster the operator
    meant to protect would stay writable.
    """
    if settings.read_only:
        return True
    if not settings.read_only_clusters:
        return False
    if isinstance(cluster, str):
        names = {cluster}
    else:
        names = {cluster.slug, cluster.display_name, cluster.config.name}
    return not names.isdisjoint(settings.read_only_clusters)


def refusal(settings: Settings, cluster: Cluster | str) -> errors.ReadOnly:
    name = cluster if isinstance(cluster, str) else cluster.slug
    if settings.read_only:
        message = "Kubelantern runs read-only (--read-only): it makes no changes to any cluster."
    else:
        message = (
            f"Cluster {name} is read-only in Kubelantern (--read-only-clusters): "
            "it makes no changes to it."
        )
    return errors.ReadOnly(message, cluster=name)


def ensure_writable(settings: Settings, cluster: Cluster) -> None:
    """Raise ``ReadOnly`` (403) if writes to this cluster are switched off."""
    if is_read_only(settings, cluster):
        raise refusal(settings, cluster)


def template_globals(settings: Settings, clusters: ClusterStore) -> dict[str, object]:
    """``read_only(cluster_name)`` for templates, to leave write buttons out."""

    def read_only(name: str | None = None) -> bool:
        if settings.read_only:
            return True
        if not name:
            return False
        try:
            return is_read_only(settings, clusters.get(name))
        except errors.UnknownCluster:
            return is_read_only(settings, name)

    return {"read_only": read_only}
