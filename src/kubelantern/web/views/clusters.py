"""The clusters page and each cluster's overview."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kubelantern import errors
from kubelantern.auth import credentials_for
from kubelantern.clusters.store import Cluster
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
            credentials=credentials_for(request, cluster),
            timeout=PROBE_TIMEOUT,
        )
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
    probes = await asyncio.gather(*(probe(request, c) for c in state.clusters))
    return render(request, "clusters.html", {"clusters": list(probes)})


async def overview(request: Request, cluster: Cluster) -> Response:
    info = await probe(request, cluster)
    return render(
        request,
        "overview.html",
        {"cluster": info, "clusterName": cluster.slug},
    )
