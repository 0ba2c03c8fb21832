"""One kind across several clusters, with a Cluster column, live.

``/-/list/pods?clusters=a,b&fieldSelector=status.phase!=Running`` lists every
pod not Running in clusters a and b. Each cluster is asked concurrently with
its own time limit; one that is slow, dead, forbids the list or lacks the kind
is named in ``failures`` and the others still answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from kubelantern import errors, urls
from kubelantern.clusters.store import Cluster
from kubelantern.resources.listing import ListResult
from kubelantern.resources.table import Column
from kubelantern.web import live
from kubelantern.web.nav import split_namespaces
from kubelantern.web.render import render
from kubelantern.web.sse import sse_response
from kubelantern.web.state import app_state
from kubelantern.web.views.resources import (
    fetch_list,
    shape_cells,
    shape_columns,
)

CLUSTER_TIMEOUT = 10.0


def chosen_clusters(request: Request) -> list[Cluster]:
    store = app_state(request).clusters
    q = request.query_params
    names = [n for n in q.get("clusters", "").split(",") if n] + q.getlist("cluster")
    if not names:
        return list(store)
    return [store.get(n) for n in names]


async def _one(
    request: Request, cluster: Cluster, resource: str, namespaces: list[str]
) -> tuple[Any, ListResult, str] | errors.KubelanternError:
    try:
        async with asyncio.timeout(CLUSTER_TIMEOUT):
            rt = await cluster.discovery.resolve(resource)
            result, note = await fetch_list(
                request, cluster, rt, namespaces if rt.namespaced else []
            )
            return rt, result, note
    except errors.KubelanternError as exc:
        return exc
    except TimeoutError:
        return errors.ClusterTimeout(
            f"no answer within {CLUSTER_TIMEOUT:g} s", cluster=cluster.slug
        )


async def multi_list(request: Request) -> Response:
    resource = request.path_params["resource"]
    clusters = chosen_clusters(request)
    namespaces = split_namespaces(request.query_params.get("namespaces", ""))
    answers = await asyncio.gather(*(_one(request, c, resource, namespaces) for c in clusters))
    columns: list[Column] = []
    rows: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    notes: dict[str, str] = {}
    versions: dict[str, str] = {}
    kind: dict[str, Any] | None = None
    for cluster, answer in zip(clusters, answers, strict=True):
        if isinstance(answer, errors.KubelanternError):
            failures[cluster.slug] = f"{answer.title}: {answer.message}"
            continue
        rt, result, note = answer
        if note:
            notes[cluster.slug] = note
        kind = kind or rt.to_dict()
        ns_column = rt.namespaced and len(namespaces) != 1
        shown, keep = shape_columns(result.columns, namespace_column=ns_column, wide=False)
        if not columns:
            columns = shown
        by_name = {c.name: i for i, c in enumerate(shown)}
        versions[cluster.slug] = result.resource_version
        for row in result.rows:
            cells = shape_cells(row, keep, namespace_column=ns_column)
            aligned = [cells[by_name[c.name]] if c.name in by_name else None for c in columns]
            rows.append(
                {
                    "cluster": cluster.slug,
                    "name": row.name,
                    "namespace": row.namespace,
                    "cells": [cluster.slug, *aligned],
                    "created": row.created,
                    "url": urls.object_url(cluster, rt, row.namespace, row.name),
                }
            )
    if kind is None and failures:
        raise errors.BadRequest(
            "no cluster could list "
            + resource
            + ": "
            + "; ".join(f"{c}: {m}" for c, m in failures.items())
        )
    all_columns = [Column("Cluster", description="The object's cluster"), *columns]
    q = request.query_params
    watch = {
        "resource": resource,
        "clusters": ",".join(versions),
        "resourceVersions": ",".join(f"{c}={rv}" for c, rv in versions.items()),
        **{
            k: v for k, v in q.items() if k in ("namespaces", "labelSelector", "fieldSelector", "q")
        },
    }
    data = {
        "resource": kind or {"name": resource},
        "clusters": [c.slug for c in clusters],
        "namespaces": namespaces,
        "columns": [c.to_dict() for c in all_columns],
        "rows": rows,
        "failures": failures,
        "notes": notes,
        "filter": {
            "q": q.get("q", ""),
            "labelSelector": q.get("labelSelector", ""),
            "fieldSelector": q.get("fieldSelector", ""),
        },
        "watchUrl": urls.url_for("multi_watch", watch),
        "allClusters": [
            {"name": c.slug, "displayName": c.display_name} for c in app_state(request).clusters
        ],
    }
    return render(request, "multilist.html", data)


async def multi_watch(request: Request) -> Response:
    """One SSE stream merging the watches of every chosen cluster."""
    q = request.query_params
    resource = q.get("resource", "")
    if not resource:
        raise errors.BadRequest("watch needs ?resource=<kind>")
    clusters = chosen_clusters(request)
    namespaces = split_namespaces(q.get("namespaces", ""))
    start: dict[str, str] = {}
    for part in q.get("resourceVersions", "").split(","):
        name, _, rv = part.partition("=")
        if name:
            start[name] = rv
    last = request.headers.get("last-event-id", "")
    if last.startswith("{"):
        with contextlib.suppress(orjson.JSONDecodeError, AttributeError):
            start.update({str(k): str(v) for k, v in orjson.loads(last).items()})
    plans: list[live.WatchPlan] = []
    failures: dict[str, str] = {}

    async def plan_for(cluster: Cluster) -> live.WatchPlan | errors.KubelanternError:
        try:
            async with asyncio.timeout(CLUSTER_TIMEOUT):
                return await live.make_plan(
                    request,
                    cluster,
                    resource,
                    namespaces,
                    rv=start.get(cluster.slug, ""),
                    ns_column=len(namespaces) != 1,
                )
        except errors.KubelanternError as exc:
            return exc
        except TimeoutError:
            return errors.ClusterTimeout("no answer", cluster=cluster.slug)

    for cluster, plan in zip(
        clusters, await asyncio.gather(*(plan_for(c) for c in clusters)), strict=True
    ):
        if isinstance(plan, errors.KubelanternError):
            failures[cluster.slug] = plan.message
        else:
            plans.append(plan)
    if not plans:
        raise errors.BadRequest("no cluster can be watched: " + "; ".join(failures.values()))
    needle = q.get("q", "").strip().lower()
    return sse_response(
        live.merged_stream(request, plans, needle=needle, multi=True, failures=failures)
    )
