"""The read-only switches: global (``--read-only``) and per cluster.

Enforced on the server, in two places: ``ReadOnlyGuard`` refuses every unsafe
HTTP method and every WebSocket (exec, attach) under ``/c/<cluster>/`` before a
handler runs, and each write function calls ``ensure_writable`` again, so a
write path added later without the middleware in front is still refused.
Templates ask ``read_only(cluster)`` to leave write buttons out.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from kubelantern import errors
from kubelantern.clusters.store import Cluster, ClusterStore
from kubelantern.settings import Settings

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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


class ReadOnlyGuard:
    """Refuses writes under ``/c/<cluster>/`` while that cluster is read-only.

    Sits outside the routes, so no view (ours, a plugin's, exec's WebSocket)
    can forget the switch. Safe methods pass: reading is what read-only allows.
    """

    def __init__(self, app: ASGIApp, *, settings: Settings, clusters: ClusterStore) -> None:
        self.app = app
        self.settings = settings
        self.clusters = clusters

    def _cluster_of(self, path: str) -> Cluster | str | None:
        prefix = self.settings.prefix
        if prefix and path.startswith(prefix):
            path = path[len(prefix) :]
        if not path.startswith("/c/"):
            return None
        slug = path[3:].split("/", 1)[0]
        if not slug:
            return None
        try:
            return self.clusters.get(slug)
        except errors.UnknownCluster:
            return slug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not (
            self.settings.read_only or self.settings.read_only_clusters
        ):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        cluster = self._cluster_of(scope["path"])
        if cluster is None or not is_read_only(self.settings, cluster):
            await self.app(scope, receive, send)
            return
        err = refusal(self.settings, cluster)
        if scope["type"] == "websocket":
            # Closing before accept makes the server answer the upgrade with 403.
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": err.message[:120]})
            return
        from kubelantern.web.errors import error_data
        from kubelantern.web.render import JSONResponse

        await JSONResponse(error_data(err), status_code=err.status)(scope, receive, send)


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
