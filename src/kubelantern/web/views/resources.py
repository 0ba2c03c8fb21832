"""Lists of any kind, built-in or custom, addressed as kubectl does."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from kubelantern import errors, urls
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.store import Cluster
from kubelantern.resources.listing import ListQuery, ListResult, list_many, list_one
from kubelantern.resources.table import Column, Row
from kubelantern.web import cached, paging, plugin_calls
from kubelantern.web.context import cluster_context
from kubelantern.web.nav import nav_context
from kubelantern.web.render import render, wants_json
from kubelantern.web.state import app_state

# Query parameters of a list page that select what is shown, and so what is exported.
EXPORT_CARRIED = ("namespaces", "labelSelector", "fieldSelector", "q", "wide")


def export_links(request: Request, base: str) -> dict[str, str]:
    """The Export menu of a list page: one URL per format, with the page's filters.

    ``.json`` is the page's JSON twin, so the JSON export is ``.json?export=all``.
    """
    carried = {k: v for k, v in request.query_params.items() if k in EXPORT_CARRIED and v}
    query = urlencode(carried)
    links = {f: f"{base}.{f}" + (f"?{query}" if query else "") for f in ("yaml", "csv", "tsv")}
    links["json"] = f"{base}.json?" + urlencode({**carried, "export": "all"})
    return links


def shape_columns(
    columns: list[Column], *, namespace_column: bool, wide: bool
) -> tuple[list[Column], list[int]]:
    """kubectl's view of a Table: priority-0 columns (all if wide), NAMESPACE when -A."""
    keep = [i for i, c in enumerate(columns) if wide or c.priority == 0]
    shown = [columns[i] for i in keep]
    if namespace_column:
        shown.insert(0, Column("Namespace", description="The object's namespace"))
    return shown, keep


def shape_cells(row: Row, keep: list[int], *, namespace_column: bool) -> list[Any]:
    cells = [row.cells[i] if i < len(row.cells) else None for i in keep]
    if namespace_column:
        cells.insert(0, row.namespace)
    return cells


def sort_rows(rows: list[dict[str, Any]], columns: list[Column], key: str) -> list[dict[str, Any]]:
    """Sort rows by a column name; '-Name' sorts descending. Ages sort by timestamp."""
    desc = key.startswith("-")
    name = key.lstrip("-")
    names = [c.name for c in columns]
    if name not in names:
        raise errors.BadRequest(f"cannot sort by {name!r}: columns are {', '.join(names)}")
    idx = names.index(name)
    col = columns[idx]

    def value(row: dict[str, Any]) -> tuple[int, Any]:
        if col.is_age:
            return (0, row.get("created") or "")
        cell = row["cells"][idx]
        if cell is None:
            return (2, "")
        if isinstance(cell, int | float):
            return (0, cell)
        text = str(cell)
        head = text.split("/")[0].split(" ")[0]
        if head.isdigit():
            return (0, int(head))
        return (1, text.lower())

    numeric = [r for r in rows if value(r)[0] == 0]
    if col.is_age:
        # Older objects have smaller timestamps but larger ages.
        return sorted(rows, key=value, reverse=not desc)
    if numeric and len(numeric) == len(rows):
        return sorted(rows, key=value, reverse=desc)
    return sorted(rows, key=lambda r: (value(r)[0] == 2, str(value(r)[1])), reverse=desc)


def result_limit(request: Request) -> int:
    """Rows per page: ``?limit=`` (1 to 1000), else ``--page-size``."""
    raw = request.query_params.get("limit", "")
    if not raw:
        return int(app_state(request).settings.page_size)
    try:
        return min(max(int(raw), 1), 1000)
    except ValueError:
        raise errors.BadRequest("limit must be a whole number") from None


async def fetch_list(
    request: Request,
    cluster: Cluster,
    rt: ResourceType,
    namespaces: list[str],
    *,
    whole: bool = False,
) -> tuple[ListResult, str]:
    """The rows for this view, and a note for the user (fallbacks, partial results).

    ``whole``: from the watch cache, every row (a ``cached.WholeList``) for sorting.
    """
    ctx = cluster_context(request, cluster)
    creds = ctx.credentials
    q = request.query_params
    limit = result_limit(request)
    query = ListQuery(
        limit=limit,
        label_selector=q.get("labelSelector", ""),
        field_selector=q.get("fieldSelector", ""),
        needle=q.get("q", "").strip(),
        include_object=plugin_calls.wants_objects(request, rt),
    )
    hit = await cached.list_rows(request, cluster, rt, namespaces, query, whole=whole)
    if hit is not None:
        return hit, ""
    if len(namespaces) > 1:
        many = await list_many(cluster.client, rt, query, namespaces=namespaces, credentials=creds)
        return many, ""
    ns = namespaces[0] if namespaces else None
    try:
        result = await list_one(
            cluster.client,
            rt,
            query,
            namespace=ns,
            credentials=creds,
            continue_token=q.get("continue", ""),
        )
        return result, ""
    except errors.Forbidden as exc:
        if ns is not None or not rt.namespaced:
            raise
        known = ctx.known_namespaces
        if not known:
            exc.title = "Forbidden"
            raise
        result = await list_many(cluster.client, rt, query, namespaces=known, credentials=creds)
        note = (
            f"You may not list {rt.name} in all namespaces; showing "
            f"{', '.join(known)} instead. Add namespaces in the chooser."
        )
        return result, note


async def list_view(
    request: Request, cluster: Cluster, resource: str, namespace: str | None
) -> Response:
    ctx = cluster_context(request, cluster)
    rt = await ctx.resolve(resource)
    if not rt.listable:
        raise errors.BadRequest(f"{rt.name} cannot be listed", cluster=cluster.slug)
    namespaces = ctx.selected_namespaces(namespace) if rt.namespaced else []
    paging.parse_history(request.query_params.get("prev", ""))  # refuse a bad one first
    q = request.query_params
    result, note = await fetch_list(request, cluster, rt, namespaces, whole=bool(q.get("sort")))
    wide = q.get("wide") in ("1", "true")
    ns_column = rt.namespaced and len(namespaces) != 1
    columns, keep = shape_columns(result.columns, namespace_column=ns_column, wide=wide)
    rows = [
        {
            "name": row.name,
            "namespace": row.namespace,
            "cells": shape_cells(row, keep, namespace_column=ns_column),
            "created": row.created,
            "url": urls.object_url(cluster, rt, row.namespace, row.name),
        }
        for row in result.rows
    ]
    # Plugins' column processors run before sorting, so their columns sort too.
    columns, rows = await plugin_calls.process_columns(
        request, cluster, rt, columns, rows, result.rows
    )
    if q.get("sort"):
        rows = sort_rows(rows, columns, q["sort"])
    if isinstance(result, cached.WholeList):  # the whole list was sorted: now the page
        rows = result.page(rows)
    base = urls.list_url(cluster, rt, namespaces[0] if len(namespaces) == 1 else None)
    keep_params = {k: v for k, v in q.items() if k not in ("continue", "prev")}
    pages = paging.pager(
        base,
        dict(q.items()),
        limit=result_limit(request),
        rows=len(rows),
        next_token=result.continue_token,
        remaining=result.remaining,
        filtered=bool(q.get("q", "").strip()),
    )
    watch = {
        "resource": rt.name,
        "resourceVersion": result.resource_version,
        **({"namespaces": ",".join(result.namespaces or namespaces)} if rt.namespaced else {}),
        **{k: v for k, v in keep_params.items() if k in ("labelSelector", "fieldSelector", "q")},
        **({"wide": "1"} if wide else {}),
    }
    data = {
        "clusterName": cluster.slug,
        "resource": rt.to_dict(),
        "namespace": namespaces[0] if len(namespaces) == 1 else None,
        "namespaces": result.namespaces or namespaces,
        "columns": [c.to_dict() for c in columns],
        "rows": rows,
        "resourceVersion": result.resource_version,
        "continue": result.continue_token,
        "remainingItemCount": result.remaining,
        "listUrl": base,
        "nextUrl": pages.next_url,
        "paging": pages.to_dict(),
        "note": note,
        "failures": result.failures,
        "truncated": result.truncated,
        "filter": {
            "q": q.get("q", ""),
            "labelSelector": q.get("labelSelector", ""),
            "fieldSelector": q.get("fieldSelector", ""),
            "sort": q.get("sort", ""),
        },
        "watchUrl": urls.url_for("cluster_watch", watch, cluster=cluster.slug),
        "exports": export_links(request, base),
    }
    context = None
    if not wants_json(request):
        single = namespaces[0] if len(namespaces) == 1 else None
        context = {"nav": await nav_context(request, cluster, single, rt.name)}
    return render(request, "list.html", data, context=context)
