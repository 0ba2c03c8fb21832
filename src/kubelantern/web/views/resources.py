"""Lists and details of any kind, built-in or custom, addressed as kubectl does."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kubelantern import errors
from kubelantern.auth import credentials_for
from kubelantern.clusters.store import Cluster
from kubelantern.resources.discovery import ResourceType
from kubelantern.resources.table import Column, TablePage, list_table
from kubelantern.web.render import render
from kubelantern.web.state import app_state


def object_url(cluster: str, rt: ResourceType, name: str, namespace: str | None) -> str:
    if rt.namespaced and namespace:
        return f"/c/{cluster}/namespaces/{namespace}/{rt.name}/{name}"
    return f"/c/{cluster}/{rt.name}/{name}"


def list_url(cluster: str, rt: ResourceType, namespace: str | None) -> str:
    if rt.namespaced and namespace:
        return f"/c/{cluster}/namespaces/{namespace}/{rt.name}"
    return f"/c/{cluster}/{rt.name}"


def shape_table(
    page: TablePage, rt: ResourceType, *, all_namespaces: bool, wide: bool
) -> tuple[list[Column], list[list[Any]]]:
    """kubectl's view of a Table: priority-0 columns (all if wide), NAMESPACE when -A."""
    keep = [i for i, c in enumerate(page.columns) if wide or c.priority == 0]
    columns = [page.columns[i] for i in keep]
    cells = [[row.cells[i] if i < len(row.cells) else None for i in keep] for row in page.rows]
    if rt.namespaced and all_namespaces:
        columns.insert(0, Column("Namespace", description="The object's namespace"))
        for row, row_cells in zip(page.rows, cells, strict=True):
            row_cells.insert(0, row.namespace)
    return columns, cells


async def list_view(
    request: Request, cluster: Cluster, resource: str, namespace: str | None
) -> Response:
    state = app_state(request)
    creds = credentials_for(request, cluster)
    rt = await cluster.discovery.resolve(resource, creds)
    if not rt.listable:
        raise errors.BadRequest(f"{rt.name} cannot be listed", cluster=cluster.slug)
    if not rt.namespaced:
        namespace = None
    q = request.query_params
    try:
        limit = min(max(int(q.get("limit", state.settings.page_size)), 1), 1000)
    except ValueError:
        raise errors.BadRequest("limit must be a whole number") from None
    page = await list_table(
        cluster.client,
        rt,
        namespace=namespace,
        credentials=creds,
        limit=limit,
        continue_token=q.get("continue", ""),
        label_selector=q.get("labelSelector", ""),
        field_selector=q.get("fieldSelector", ""),
    )
    wide = q.get("wide") in ("1", "true")
    columns, cells = shape_table(page, rt, all_namespaces=namespace is None, wide=wide)
    rows = [
        {
            "name": row.name,
            "namespace": row.namespace,
            "cells": row_cells,
            "created": row.created,
            "url": object_url(cluster.slug, rt, row.name, row.namespace),
        }
        for row, row_cells in zip(page.rows, cells, strict=True)
    ]
    data = {
        "clusterName": cluster.slug,
        "resource": rt.to_dict(),
        "namespace": namespace,
        "columns": [c.to_dict() for c in columns],
        "rows": rows,
        "resourceVersion": page.resource_version,
        "continue": page.continue_token,
        "remainingItemCount": page.remaining,
        "listUrl": list_url(cluster.slug, rt, namespace),
    }
    return render(request, "list.html", data)
