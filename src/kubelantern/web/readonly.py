"""The read-only switches at the HTTP edge: one middleware in front of every route.

The rule (which cluster is read-only, the refusal's message) is
``kubelantern.operate.readonly``; this is only where the web layer applies it,
so no view (ours, a plugin's, exec's WebSocket) can forget it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from kubelantern import errors, urls
from kubelantern.clusters.store import Cluster, ClusterStore
from kubelantern.operate.readonly import is_read_only, refusal
from kubelantern.settings import Settings
from kubelantern.web.responses import refuse

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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
        slug = urls.cluster_of(path)
        if slug is None:
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
        await refuse(err, scope, receive, send)
