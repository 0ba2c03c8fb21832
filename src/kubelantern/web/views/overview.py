"""The cluster overview: version, nodes ready, pods by phase, requests vs allocatable,
recent Warning events.

Each part is its own lookup with the user's credentials, run concurrently, and
each degrades on its own: a user who may not list nodes sees "not permitted"
there and everything else still works. A user who may not list pods or events
in all namespaces gets them for the namespaces they work in (configured, the
context's, or entered in the chooser), said so on the page.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kubelantern import errors, urls
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import DiscoveryResult
from kubelantern.clusters.store import Cluster
from kubelantern.resources.quantity import format_quantity, parse_quantity
from kubelantern.resources.relations import (
    newest_first,
    pod_requests,
    refusal,
    terminated,
)
from kubelantern.resources.sections.nodes import node_ready
from kubelantern.web.context import ClusterContext, cluster_context
from kubelantern.web.nav import nav_context
from kubelantern.web.render import render, wants_json
from kubelantern.web.views.clusters import probe

TIMEOUT = 8.0
PAGE = 500
MAX_PODS = 10_000
WARNINGS = 10
PHASES = ("Running", "Pending", "Succeeded", "Failed", "Unknown")

Obj = dict[str, Any]


class Listing:
    """All items of a list (paged), or the error that stopped it."""

    def __init__(self) -> None:
        self.items: list[Obj] = []
        self.partial = False
        self.error: errors.KubelanternError | None = None
        self.namespaces: list[str] | None = None  # None: all namespaces

    def failure(self) -> Obj:
        exc = self.error
        assert exc is not None
        message = refusal(exc)
        if isinstance(exc, errors.Forbidden) and exc.resource != "nodes" and not exc.namespace:
            message += " in all namespaces"
        return {"error": message, "forbidden": isinstance(exc, errors.Forbidden)}


async def list_pages(
    cluster: Cluster,
    creds: Credentials | None,
    resource: str,
    namespace: str | None,
    *,
    field_selector: str = "",
    max_items: int = MAX_PODS,
) -> tuple[list[Obj], bool]:
    """Page through a core/v1 list: (items, partial), partial if ``max_items`` cut it short."""
    path = f"/api/v1/namespaces/{namespace}/{resource}" if namespace else f"/api/v1/{resource}"
    items: list[Obj] = []
    token = ""
    while True:
        params: dict[str, str | int | list[str]] = {"limit": PAGE}
        if token:
            params["continue"] = token
        if field_selector:
            params["fieldSelector"] = field_selector
        doc = await cluster.client.json(
            "GET",
            path,
            params=params,
            credentials=creds,
            timeout=TIMEOUT,
            verb="list",
            resource=resource,
            namespace=namespace,
        )
        items.extend(doc.get("items") or [])
        token = (doc.get("metadata") or {}).get("continue") or ""
        if not token:
            return items, False
        if len(items) >= max_items:
            return items, True


async def listing(
    ctx: ClusterContext,
    resource: str,
    *,
    field_selector: str = "",
    fallback: bool = True,
) -> Listing:
    """All namespaces if permitted, else the user's known namespaces (if any)."""
    cluster, creds = ctx.cluster, ctx.credentials
    out = Listing()
    try:
        out.items, out.partial = await list_pages(
            cluster, creds, resource, None, field_selector=field_selector
        )
        return out
    except errors.KubelanternError as exc:
        out.error = exc
        known = working_namespaces(ctx)
        if not (fallback and known and isinstance(exc, errors.Forbidden)):
            return out
    results = await asyncio.gather(
        *(list_pages(cluster, creds, resource, ns, field_selector=field_selector) for ns in known),
        return_exceptions=True,
    )
    out.namespaces = []
    for ns, res in zip(known, results, strict=True):
        if isinstance(res, errors.KubelanternError):
            continue
        if isinstance(res, BaseException):
            raise res
        items, partial = res
        out.items.extend(items)
        out.partial = out.partial or partial
        out.namespaces.append(ns)
    if out.namespaces:
        out.error = None
    return out


def working_namespaces(ctx: ClusterContext) -> list[str]:
    """Where to look when all namespaces are refused: the ones asked for, then the known ones.

    ``?namespaces=a,b`` is how someone who may not list namespaces says where
    they work (the "Where do you work?" form on this page); the chooser
    remembers it.
    """
    names = ctx.selected_namespaces(None)
    return [*names, *(n for n in ctx.known_namespaces if n not in names)]


def needs_namespace(nav: Obj | None, *parts: Obj) -> bool:
    """Whether to lead with "name a namespace": nothing to see, none to choose.

    True for someone who may list neither namespaces nor these kinds in all
    namespaces, and has named no namespace yet: every card would say "Not
    permitted", so the page starts with where to go instead.
    """
    if nav is not None and nav["namespaces"]["canList"]:
        return False
    return all(p.get("forbidden") and p.get("namespaces") is None for p in parts)


def nodes_part(nodes: Listing) -> Obj:
    if nodes.error:
        return {"ready": None, "total": None, "notReady": [], **nodes.failure()}
    not_ready = [
        (n.get("metadata") or {}).get("name", "") for n in nodes.items if not node_ready(n)
    ]
    return {
        "ready": len(nodes.items) - len(not_ready),
        "total": len(nodes.items),
        "notReady": not_ready,
        "error": "",
        "forbidden": False,
    }


def pods_part(pods: Listing) -> Obj:
    if pods.error:
        return {
            "byPhase": {},
            "total": None,
            "namespaces": None,
            "partial": False,
            **pods.failure(),
        }
    counts = Counter(str((p.get("status") or {}).get("phase") or "Unknown") for p in pods.items)
    by_phase = {phase: counts.get(phase, 0) for phase in PHASES}
    by_phase.update({k: v for k, v in counts.items() if k not in by_phase})
    return {
        "byPhase": by_phase,
        "total": len(pods.items),
        "namespaces": pods.namespaces,
        "partial": pods.partial,
        "error": "",
        "forbidden": False,
    }


def capacity_part(nodes: Listing, pods: Listing) -> Obj:
    """Requests of non-terminated pods against the nodes' allocatable, per resource.

    Only meaningful with every pod of the cluster: a namespace-limited view
    would understate the load, so it then says why it cannot be shown.
    """
    for part in (nodes, pods):
        if part.error:
            return {"resources": {}, **part.failure()}
    if pods.namespaces is not None:
        return {
            "resources": {},
            "error": "not permitted: list pods in all namespaces",
            "forbidden": True,
        }
    allocatable: dict[str, Decimal] = {}
    for n in nodes.items:
        for k, v in ((n.get("status") or {}).get("allocatable") or {}).items():
            allocatable[k] = allocatable.get(k, Decimal(0)) + parse_quantity(v)
    requested: dict[str, Decimal] = {}
    running = [p for p in pods.items if not terminated(p)]
    for p in running:
        for k, v in pod_requests(p).items():
            requested[k] = requested.get(k, Decimal(0)) + v
    requested["pods"] = Decimal(len(running))
    resources = {}
    for name in ("cpu", "memory", "pods"):
        alloc, req = allocatable.get(name, Decimal(0)), requested.get(name, Decimal(0))
        resources[name] = {
            "requested": format_quantity(name, req),
            "allocatable": format_quantity(name, alloc),
            "percent": round(float(req / alloc * 100), 1) if alloc else None,
        }
    return {"resources": resources, "partial": pods.partial, "error": "", "forbidden": False}


def warnings_part(cluster: Cluster, discovery: DiscoveryResult | None, events: Listing) -> Obj:
    """The newest Warning events, each linked to the object it is about."""
    if events.error:
        return {"items": [], "namespaces": None, **events.failure()}
    items = newest_first(events.items)[:WARNINGS]
    for item in items:
        ref = item["involvedObject"]
        rt = discovery.by_kind(ref["apiVersion"], ref["kind"]) if discovery else None
        # Some reporters leave involvedObject.namespace empty; an event lives in
        # the namespace of the object it is about, so fall back to the event's own.
        namespace = ref["namespace"] or item.get("namespace")
        item["url"] = (
            urls.object_url(cluster, rt, namespace, ref["name"])
            if rt and ref["name"] and (namespace or not rt.namespaced)
            else None
        )
    return {"items": items, "namespaces": events.namespaces, "error": "", "forbidden": False}


async def discovery_or_none(ctx: ClusterContext) -> DiscoveryResult | None:
    try:
        return await ctx.discovery()
    except errors.KubelanternError:
        return None


async def nav_or_none(request: Request, cluster: Cluster, html: bool) -> Obj | None:
    """The sidebar, if the cluster answers: the overview is where an unreachable
    cluster says so part by part, so it renders without one."""
    if not html:
        return None
    try:
        return await nav_context(request, cluster, None)
    except errors.KubelanternError:
        return None


async def overview(request: Request, cluster: Cluster) -> Response:
    ctx = cluster_context(request, cluster)
    _ = ctx.credentials  # not signed in: straight to the sign-in page, before any lookup
    html = not wants_json(request)
    info, discovery, nodes, pods, events, nav = await asyncio.gather(
        probe(request, cluster),
        discovery_or_none(ctx),
        listing(ctx, "nodes", fallback=False),
        listing(ctx, "pods"),
        listing(ctx, "events", field_selector="type=Warning"),
        nav_or_none(request, cluster, html),
    )
    data = {
        "clusterName": cluster.slug,
        "cluster": info,
        "nodes": nodes_part(nodes),
        "pods": pods_part(pods),
        "capacity": capacity_part(nodes, pods),
        "warnings": warnings_part(cluster, discovery, events),
    }
    data["needsNamespace"] = needs_namespace(nav, data["pods"], data["warnings"])
    return render(request, "overview.html", data, context={"nav": nav} if html else None)
