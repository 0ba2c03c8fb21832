"""Operations: ``/healthz``, ``/readyz``, ``/metrics``, request metrics, stream ends.

``Operations`` is the outermost middleware, so these three endpoints answer
before any sign-in, CSRF or local-token check: the kubelet and Prometheus
have no session. They never show secrets: cluster names and counts only, no
servers, users or error texts. They live at the root path even with
``--base-url``, so an Ingress that only routes the base URL does not publish
them (the kubelet and Prometheus reach the pod directly).

* ``/healthz``: the process answers (liveness; it checks nothing else, so a
  slow API server never gets the pod restarted).
* ``/readyz``: settings loaded and the app started; with
  ``--require-clusters`` also every configured cluster answered its last
  background probe (``clusters/health.py``). 503 while shutting down.
  ``?verbose`` lists each check, Kubernetes style.
* ``/metrics``: ``kubelantern.metrics`` in the Prometheus text format.

For every other request it records ``kubelantern_http_*`` by route *pattern*,
counts open SSE and WebSocket streams, and ends event streams when shutdown
begins (``kubelantern.lifecycle``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kubelantern import metrics, urls
from kubelantern.clusters.health import HealthMonitor
from kubelantern.clusters.store import ClusterStore
from kubelantern.lifecycle import Lifecycle

log = logging.getLogger(__name__)

OPS_PATHS = ("/healthz", "/readyz", "/metrics")


def route_label(path: str) -> str:
    """The route pattern of ``path`` (without base URL): ``kubelantern.urls.route_label``."""
    return urls.route_label(path)


class Operations:
    """The ops endpoints, request metrics and stream handling (see module doc)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        clusters: ClusterStore,
        monitor: HealthMonitor,
        lifecycle: Lifecycle,
        prefix: str = "",
        require_clusters: bool = False,
    ) -> None:
        self.app = app
        self.clusters = clusters
        self.monitor = monitor  # the app's background probes (AppState.health)
        self.lifecycle = lifecycle  # the app's shutdown switch (AppState.lifecycle)
        self.prefix = prefix
        self.require_clusters = require_clusters
        self.started = False  # the app's lifespan startup completed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
        elif scope["type"] == "http":
            path = scope["path"]
            if path in OPS_PATHS:
                await self._ops(path, scope, send)
                return
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            with metrics.open_streams("websocket"):
                await self.app(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Watch the app's startup and shutdown: /readyz is only ready in between.

        A start refused for want of clusters first shuts the app down again
        (plugins' shutdown hooks, open clients), then tells the server.
        """
        refused: dict[str, Message] = {}

        async def receive_wrapper() -> Message:
            if refused:
                return {"type": "lifespan.shutdown"}
            return await receive()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete" and not len(self.clusters):
                message = self._no_clusters(message)
                if message["type"] == "lifespan.startup.failed":
                    refused["failed"] = message
                    return
            if refused:
                if message["type"].startswith("lifespan.shutdown"):
                    await send(refused["failed"])
                return
            if message["type"] == "lifespan.startup.complete":
                self.started = True
            elif message["type"].startswith("lifespan.shutdown"):
                self.started = False
            await send(message)

        await self.app(scope, receive_wrapper, send_wrapper)

    def _no_clusters(self, complete: Message) -> Message:
        """No cluster after startup (kubeconfig, in-cluster, added, plugins): say so.

        With ``--require-clusters`` the start fails (readiness would otherwise
        be vacuously true); without, a warning: desktop users add clusters in the UI.
        """
        hint = (
            "pass --kubeconfig (or set $KUBECONFIG), --in-cluster in a pod, "
            "or add one at /-/clusters/add"
        )
        if self.require_clusters:
            text = f"no cluster is configured and --require-clusters is set: {hint}"
            log.error(text)
            return {"type": "lifespan.startup.failed", "message": ""}
        log.warning("no cluster is configured: %s", hint)
        return complete

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if self.prefix and (path == self.prefix or path.startswith(self.prefix + "/")):
            path = path[len(self.prefix) :]
        route = route_label(path)
        method = scope["method"]
        start = time.monotonic()
        state: dict[str, Any] = {"status": 500, "started": False, "done": False, "sse": False}

        try:
            async with self.lifecycle.stream_scope() as stream_scope:

                async def send_wrapper(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        state["status"] = message["status"]
                        state["started"] = True
                        headers = dict(message.get("headers", []))
                        if headers.get(b"content-type", b"").startswith(b"text/event-stream"):
                            state["sse"] = True
                            metrics.OPEN_STREAMS.labels(kind="sse").inc()
                            self.lifecycle.register(stream_scope)
                    elif message["type"] == "http.response.body" and not message.get("more_body"):
                        state["done"] = True
                    await send(message)

                try:
                    await self.app(scope, receive, send_wrapper)
                finally:
                    if state["sse"]:
                        metrics.OPEN_STREAMS.labels(kind="sse").dec()
        except TimeoutError:
            if not (state["sse"] and self.lifecycle.shutting_down):
                raise  # not ours: a view's own time limit
        if state["sse"] and state["started"] and not state["done"]:
            # Shutdown ended the stream: finish the response instead of cutting it.
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        metrics.HTTP_REQUESTS.labels(route=route, method=method, status=str(state["status"])).inc()
        metrics.HTTP_DURATION.labels(route=route, method=method).observe(time.monotonic() - start)

    async def _ops(self, path: str, scope: Scope, send: Send) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        if path == "/healthz":
            status, body, ctype = 200, b"ok\n", b"text/plain; charset=utf-8"
        elif path == "/readyz":
            status, body, ctype = self._readyz(scope, "verbose" in query.split("&"))
        else:
            self._cluster_gauges()
            accept = dict(scope["headers"]).get(b"accept", b"").decode("latin-1")
            body, content_type = metrics.exposition(accept)
            status, ctype = 200, content_type.encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", ctype),
                    (b"cache-control", b"no-store"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    # -- readiness -----------------------------------------------------------

    def readiness(self) -> dict[str, Any]:
        """Each check and whether the process is ready; names only, never secrets."""
        # Only the operator's clusters: these answers need no sign-in, and a cluster a
        # person added (and may not share) must not decide readiness nor show its name.
        clusters = {
            c.slug: self.monitor.health(c.slug).reachable for c in self.clusters if not c.added
        }
        checks: dict[str, bool] = {
            "config": True,  # create_app succeeded, so the settings were valid
            "started": self.started,
            "shutdown": not self.lifecycle.shutting_down,
        }
        if self.require_clusters:
            checks["clusters"] = bool(clusters) and all(v is True for v in clusters.values())
        return {
            "ready": all(checks.values()),
            "checks": checks,
            "clustersRequired": self.require_clusters,
            "clusters": {name: reachable for name, reachable in clusters.items()},
        }

    def _readyz(self, scope: Scope, verbose: bool) -> tuple[int, bytes, bytes]:
        info = self.readiness()
        status = 200 if info["ready"] else 503
        if b"application/json" in dict(scope["headers"]).get(b"accept", b""):
            return status, orjson.dumps(info), b"application/json"
        if not verbose:
            text = "ok\n" if info["ready"] else "not ready\n"
        else:
            lines = [
                f"[{'+' if ok else '-'}]{name} {'ok' if ok else 'failed'}"
                for name, ok in info["checks"].items()
            ]
            for name, reachable in info["clusters"].items():
                word = {True: "reachable", False: "unreachable", None: "not probed yet"}[reachable]
                lines.append(f"    cluster {name}: {word}")
            lines.append("readyz check " + ("passed" if info["ready"] else "failed"))
            text = "\n".join(lines) + "\n"
        return status, text.encode(), b"text/plain; charset=utf-8"

    def _cluster_gauges(self) -> None:
        for cluster in self.clusters:
            if cluster.added:
                continue
            reachable = self.monitor.health(cluster.slug).reachable
            if reachable is not None:
                metrics.CLUSTER_REACHABLE.labels(cluster=cluster.config.name).set(
                    1 if reachable else 0
                )
