"""``…/pods.yaml``, ``.csv``, ``.tsv`` and ``pods.json?export=all``: a list, exported.

``pods.json`` is already the JSON twin of the page (one page of Table rows), so
the JSON export is asked for with ``?export=all`` on the twin. Each export takes
the list page's own query (``namespaces``, ``labelSelector``, ``fieldSelector``,
``q``, ``wide``), so the page's Export menu links export exactly what is shown,
every page of it. ``?managedFields=1`` keeps ``metadata.managedFields``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from kubelantern import errors, urls
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.store import Cluster
from kubelantern.resources import export
from kubelantern.resources.table import Column, Row
from kubelantern.web.context import cluster_context
from kubelantern.web.nav import selected_namespaces
from kubelantern.web.state import app_state
from kubelantern.web.views.resources import shape_cells, shape_columns


def requested(request: Request, last_segment: str) -> tuple[str, str] | None:
    """(resource, format) when this GET asks for an export, else None."""
    by_suffix = export.suffix_format(last_segment)
    if by_suffix is not None:
        return by_suffix
    if request.scope.get("kl_json") and request.query_params.get("export") == "all":
        return last_segment, "json"
    return None


def _filename(rt: ResourceType, namespaces: list[str | None], fmt: str) -> str:
    where = "-".join(ns for ns in namespaces if ns) if namespaces != [None] else ""
    base = rt.name + (f"-{where}" if where and len(where) < 100 else "")
    safe = "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in base)
    return f"{safe}.{fmt}"


def _shaper(
    rt: ResourceType, *, ns_column: bool, wide: bool
) -> Callable[[list[Column]], tuple[list[Column], Callable[[Row], list[Any]]]]:
    def shape(columns: list[Column]) -> tuple[list[Column], Callable[[Row], list[Any]]]:
        shown, keep = shape_columns(columns, namespace_column=ns_column, wide=wide)
        return shown, lambda row: shape_cells(row, keep, namespace_column=ns_column)

    return shape


async def export_view(
    request: Request, cluster: Cluster, resource: str, namespace: str | None, fmt: str
) -> Response:
    state = app_state(request)
    ctx = cluster_context(request, cluster)
    creds = ctx.credentials
    rt = await cluster_context(request, cluster).resolve(resource)
    if not rt.listable:
        raise errors.BadRequest(f"{rt.name} cannot be listed", cluster=cluster.slug)
    q = request.query_params
    selected = selected_namespaces(request, cluster, namespace) if rt.namespaced else []
    namespaces: list[str | None] = list(selected) or [None]
    try:
        chunk = min(max(int(q.get("limit", state.settings.page_size)), 1), 1000)
    except ValueError:
        raise errors.BadRequest("limit must be a whole number") from None
    query = export.ExportQuery(
        namespaces=namespaces,
        label_selector=q.get("labelSelector", ""),
        field_selector=q.get("fieldSelector", ""),
        needle=q.get("q", "").strip(),
        chunk=chunk,
        managed_fields=q.get("managedFields") in ("1", "true"),
    )
    reader = export.ChunkReader(cluster.client, rt, query, creds)
    try:
        await reader.start()
    except errors.Forbidden:
        # As the list page does: not allowed cluster-wide, export the namespaces it offers.
        known = ctx.known_namespaces
        if namespaces != [None] or not rt.namespaced or not known:
            raise
        query = export.ExportQuery(**{**query.__dict__, "namespaces": list(known)})
        namespaces = list(known)
        reader = export.ChunkReader(cluster.client, rt, query, creds)
        await reader.start()
    ns_column = rt.namespaced and (namespaces == [None] or len(namespaces) > 1)
    shape = _shaper(rt, ns_column=ns_column, wide=q.get("wide") in ("1", "true"))
    single = namespaces[0] if len(namespaces) == 1 else None
    await app_state(request).audit.record(
        request,
        cluster,
        verb="export",
        resource=rt.name,
        namespace=single,
        name=None,
        result="ok",
        status=200,
        message=f"as {fmt}",
        url=urls.list_url(cluster, rt, single),
    )
    filename = _filename(rt, namespaces, fmt)
    return StreamingResponse(
        export.stream(reader, fmt, shape=shape),
        media_type=export.FORMATS[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
