"""The clusters page (each cluster's overview is in overview.py)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kubelantern import errors
from kubelantern.clusters.store import Cluster
from kubelantern.clusters.visibility import current_viewer
from kubelantern.web.context import cluster_context
from kubelantern.web.render import render
from kubelantern.web.state import app_state

PROBE_TIMEOUT = 5.0


async def probe(request: Request, cluster: Cluster) -> dict[str, Any]:
    """Reachability, version and latency of one cluster, bounded in time."""
    info: dict[str, Any] = {
        "name": cluster.slug,
        "displayName": cluster.display_name,
        "server": cluster.config.server,
        "source": cluster.config.source,
        "defaultNamespace": cluster.default_namespace,
    }
    start = time.monotonic()
    try:
        doc = await cluster.client.json(
            "GET",
            "/version",
            credentials=cluster_context(request, cluster).credentials,
            timeout=PROBE_TIMEOUT,
        )
    except errors.BrokenCluster as exc:  # a broken context is one broken row
        info.update(reachable=None, credentialsOk=False, broken=exc.title, error=exc.message)
    except errors.KubelanternError as exc:
        info.update(reachable=isinstance(exc, errors.ApiError), error=exc.message)
        info["credentialsOk"] = not isinstance(exc, errors.Unauthorized | errors.Forbidden)
        if not info["reachable"]:
            info["credentialsOk"] = None
    else:
        info.update(reachable=True, version=doc.get("gitVersion"), credentialsOk=True)
    info["latencyMs"] = round((time.monotonic() - start) * 1000, 1)
    return info


async def clusters_page(request: Request) -> Response:
    state = app_state(request)
    clusters = list(state.clusters)  # only those this person may see (clusters.visibility)
    probes = await asyncio.gather(*(probe(request, c) for c in clusters))
    viewer = current_viewer.get()
    for cluster, info in zip(clusters, probes, strict=True):
        health = state.health.health(cluster.slug)
        info["added"] = cluster.added
        if cluster.added:
            info["addedBy"] = cluster.added_by
            info["shared"] = cluster.shared
            info["canManage"] = state.runtime is not None and viewer.manages(cluster.added_by)
            info["canShare"] = state.runtime is not None and viewer.admin
        # Since when the background checks have seen it in its current state.
        info["since"] = health.since if health.reachable == info["reachable"] else None
        if not info["reachable"]:
            state.health.retry_now(cluster.slug)
    data = {"clusters": probes, "canAdd": state.runtime is not None and viewer.admin}
    return render(request, "clusters.html", data)
