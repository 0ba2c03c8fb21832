"""The command palette's search, per cluster and across clusters."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kubelantern import errors
from kubelantern.clusters.store import Cluster
from kubelantern.resources.search import search
from kubelantern.web.context import cluster_context
from kubelantern.web.render import render
from kubelantern.web.state import app_state


async def cluster_search(request: Request, cluster: Cluster) -> Response:
    q = request.query_params.get("q", "")
    ctx = cluster_context(request, cluster)
    results = await search(
        app_state(request).search_index,
        cluster,
        ctx.credentials,
        ctx.identity,
        q,
        namespaces=ctx.known_namespaces,
    )
    return render(
        request, "search.html", {"query": q, "clusterName": cluster.slug, "results": results}
    )


async def global_search(request: Request) -> Response:
    """Every cluster at once; a cluster that fails is named, the others still answer."""
    q = request.query_params.get("q", "")
    clusters = list(app_state(request).clusters)

    async def one(cluster: Cluster) -> list[dict[str, Any]] | errors.KubelanternError:
        ctx = cluster_context(request, cluster)
        try:
            return await asyncio.wait_for(
                search(
                    app_state(request).search_index,
                    cluster,
                    ctx.credentials,
                    ctx.identity,
                    q,
                    namespaces=ctx.known_namespaces,
                    limit=20,
                ),
                timeout=10.0,
            )
        except errors.KubelanternError as exc:
            return exc
        except TimeoutError:
            return errors.ClusterTimeout("search timed out", cluster=cluster.slug)

    answers = await asyncio.gather(*(one(c) for c in clusters))
    results: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    for cluster, answer in zip(clusters, answers, strict=True):
        if isinstance(answer, errors.KubelanternError):
            failures[cluster.slug] = answer.message
            continue
        for hit in answer:
            if len(clusters) > 1:
                hit = {**hit, "detail": f"{hit['detail']} · {cluster.display_name}"}
            results.append(hit)
    results.sort(key=lambda h: h["type"] != "kind")
    return render(
        request, "search.html", {"query": q, "results": results[:60], "failures": failures}
    )
