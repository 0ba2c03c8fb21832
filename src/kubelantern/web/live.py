"""Live lists and details: API server watch -> Server-Sent Events, one stream per tab.

The page lists with a resourceVersion; this endpoint watches from it (one
upstream watch per namespace when several are shown, merged) and sends each
change as an SSE event: ``row`` (the rendered ``<tr>``), ``delete``, ``relist``
(410 Gone: the resourceVersion is too old, the page reloads its list) or
``problem``. The SSE ``id`` is the resourceVersion, so a reconnecting
EventSource resumes where it stopped (``Last-Event-ID``). A watch that times
out upstream is resumed from the last resourceVersion seen, without the
browser noticing. Nothing is buffered beyond a small bounded queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from kubelantern import errors, metrics, urls
from kubelantern.cache import Change, Event, Failure, Informer, Progress, Resync
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.store import Cluster
from kubelantern.resources.listing import row_matches
from kubelantern.resources.table import TABLE_ACCEPT, Column, Row, list_table, parse_table
from kubelantern.streams.tasks import Closing
from kubelantern.web import cached, plugin_calls
from kubelantern.web.context import cluster_context
from kubelantern.web.nav import split_namespaces
from kubelantern.web.sse import HEARTBEAT, KEEP_ALIVE, sse, sse_response
from kubelantern.web.state import app_state
from kubelantern.web.views.resources import shape_cells, shape_columns

log = logging.getLogger(__name__)

WATCH_TIMEOUT = 240  # seconds the API server keeps one watch open
QUEUE_SIZE = 256


class Gone(Exception):
    """The watch's resourceVersion expired (410)."""


async def watch_namespace(
    cluster: Cluster,
    rt: ResourceType,
    namespace: str | None,
    credentials: Credentials | None,
    params: dict[str, str],
    rv: str,
    queue: asyncio.Queue[tuple[str, dict[str, Any]] | BaseException],
) -> None:
    """Watch one namespace forever, resuming after upstream timeouts."""
    try:
        while True:
            query: dict[str, str | int | list[str]] = {
                **params,
                "watch": "1",
                "allowWatchBookmarks": "true",
                "timeoutSeconds": WATCH_TIMEOUT,
            }
            if rv:
                query["resourceVersion"] = rv
            async with cluster.client.stream(
                "GET",
                rt.path(namespace),
                credentials=credentials,
                params=query,
                headers={"Accept": TABLE_ACCEPT},
                timeout=WATCH_TIMEOUT + 30,
                verb="watch",
                resource=rt.name,
                namespace=namespace,
            ) as response:
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    event = orjson.loads(line)
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        if obj.get("code") == 410:
                            raise Gone()
                        raise errors.ApiError(
                            obj.get("message", "watch failed"),
                            status=int(obj.get("code") or 500),
                            cluster=cluster.slug,
                        )
                    new_rv = (obj.get("metadata") or {}).get("resourceVersion")
                    rows = obj.get("rows") or []
                    if not new_rv and rows:
                        new_rv = ((rows[0].get("object") or {}).get("metadata") or {}).get(
                            "resourceVersion"
                        )
                    rv = new_rv or rv
                    await queue.put((rv, event))
    except errors.Gone:
        await queue.put(Gone())
    except BaseException as exc:  # hand every failure to the stream, incl. cancellation
        if not isinstance(exc, asyncio.CancelledError):
            await queue.put(exc)
        raise


def plugin_row(plan: plugin_calls.LivePlan, row: Row) -> dict[str, Any]:
    """A watched row as a list page shows it, for the plugins' column processors."""
    return {
        "name": row.name,
        "namespace": row.namespace,
        "cells": shape_cells(row, plan.keep, namespace_column=plan.ns_column),
        "created": row.created,
        "url": urls.object_url(plan.cluster, plan.rt, row.namespace, row.name),
    }


def render_row(request: Request, plan: WatchPlan, row: Row, cluster_column: bool = False) -> str:
    env = app_state(request).jinja
    cells = shape_cells(row, plan.keep, namespace_column=plan.ns_column)
    columns = [c.to_dict() for c in plan.columns]
    if cluster_column:
        cells.insert(0, plan.cluster.slug)
        columns.insert(0, {"name": "Cluster"})
    shaped = {
        "name": row.name,
        "namespace": row.namespace,
        "cluster": plan.cluster.slug if cluster_column else None,
        "cells": cells,
        "created": row.created,
        "url": urls.object_url(plan.cluster, plan.rt, row.namespace, row.name),
    }
    return env.get_template("_row.html").render(row=shaped, columns=columns)


def _rendered(
    request: Request,
    plan: WatchPlan,
    row: Row,
    multi: bool,
    memo: dict[tuple[object, ...], str] | None,
) -> str:
    """The row's HTML, rendered once per column layout for every tab of a cached change."""
    if memo is None:
        return render_row(request, plan, row, cluster_column=multi)
    columns = tuple(c.name for c in plan.columns)
    key: tuple[object, ...] = (plan.cluster.slug, plan.rt.name, tuple(plan.keep), multi, columns)
    key += (plan.ns_column,)
    html = memo.get(key)
    if html is None:
        html = memo[key] = render_row(request, plan, row, cluster_column=multi)
    return html


@dataclass
class WatchPlan:
    """One cluster's part of a stream: what to watch and how to render its rows."""

    cluster: Cluster
    rt: ResourceType
    namespaces: list[str | None]
    credentials: Credentials | None
    params: dict[str, str]
    columns: list[Column]
    keep: list[int]
    ns_column: bool
    start_rv: str
    # From the shared watch cache (kubelantern.cache), one per namespace; empty: upstream.
    informers: dict[str | None, Informer] = field(default_factory=dict)
    name: str = ""  # a detail page's object: only its changes
    recheck: cached.Recheck | None = None  # may the person still see it? (cached streams)
    recheck_every: float = 30.0


async def make_plan(
    request: Request,
    cluster: Cluster,
    resource: str,
    namespaces: list[str],
    *,
    name: str = "",
    rv: str = "",
    ns_column: bool | None = None,
) -> WatchPlan:
    """Resolve the kind, learn its columns and where to start watching."""
    q = request.query_params
    ctx = cluster_context(request, cluster)
    creds = ctx.credentials
    rt = await ctx.resolve(resource)
    if "watch" not in rt.verbs:
        raise errors.BadRequest(f"{rt.name} cannot be watched", cluster=cluster.slug)
    targets: list[str | None] = list(namespaces) if rt.namespaced and namespaces else [None]
    params: dict[str, str] = {}
    if q.get("labelSelector"):
        params["labelSelector"] = q["labelSelector"]
    selectors = [s for s in (q.get("fieldSelector", ""),) if s]
    if name:
        selectors.append(f"metadata.name={name}")
    if selectors:
        params["fieldSelector"] = ",".join(selectors)
    if plugin_calls.wants_objects(request, rt):  # a plugin's column needs whole objects
        params["includeObject"] = "Object"
    if ns_column is None:
        ns_column = rt.namespaced and (targets == [None] or len(targets) > 1)
    wide = q.get("wide") in ("1", "true")
    informers = await cached.informers_for(request, cluster, rt, targets, selectors=True)
    if informers:  # the cache knows the columns and the position: no upstream call
        first = informers[targets[0]]
        columns, keep = shape_columns(first.columns, namespace_column=ns_column, wide=wide)
        positions = [inf.rv for inf in informers.values()]
        start = rv or min(positions, key=lambda p: int(p) if p.isdigit() else 0)
        recheck, every = cached.recheck_for(request, cluster, rt)
        return WatchPlan(
            cluster,
            rt,
            targets,
            creds,
            params,
            columns,
            keep,
            ns_column,
            start,
            informers,
            name,
            recheck,
            every,
        )
    # Learn the columns (the Table of later watch events may omit them).
    probe = await list_table(
        cluster.client,
        rt,
        namespace=targets[0],
        credentials=creds,
        limit=1,
        label_selector=params.get("labelSelector", ""),
        field_selector=params.get("fieldSelector", ""),
    )
    columns, keep = shape_columns(probe.columns, namespace_column=ns_column, wide=wide)
    return WatchPlan(
        cluster, rt, targets, creds, params, columns, keep, ns_column, rv or probe.resource_version
    )


Item = tuple[WatchPlan, str, dict[str, Any]] | tuple[WatchPlan, BaseException]


def _table_event(kind: str, row: Row) -> dict[str, Any]:
    """A cached change in the shape of an upstream Table watch event."""
    obj = row.object or {"metadata": {"name": row.name, "namespace": row.namespace}}
    return {
        "type": kind,
        "object": {"kind": "Table", "rows": [{"cells": row.cells, "object": obj}]},
    }


async def _pump_cached(plan: WatchPlan, ns: str | None, queue: asyncio.Queue[Item]) -> None:
    """Feed the stream from the shared cache's informer instead of an upstream watch.

    Every ``recheck_every`` seconds the person's access is asked again: a tab
    whose RoleBinding was removed stops receiving rows, as their requests would.
    """
    loop = asyncio.get_running_loop()
    next_check = loop.time() + plan.recheck_every
    with plan.informers[ns].subscribe(plan.start_rv) as sub:
        while True:
            try:
                wait = max(next_check - loop.time(), 0.05)
                event: Event | None = await asyncio.wait_for(sub.get(), wait)
            except TimeoutError:
                event = None
            if plan.recheck is not None and loop.time() >= next_check:
                if not await plan.recheck(ns):
                    denied = errors.Forbidden(
                        f"you may no longer list {plan.rt.name} here", status=403
                    )
                    await queue.put((plan, denied))
                    return
                next_check = loop.time() + plan.recheck_every
            if event is None:
                continue
            if isinstance(event, Change):
                if not plan.name or event.row.name == plan.name:
                    shaped = _table_event(event.type, event.row)
                    shaped["memo"] = event.memo
                    await queue.put((plan, event.rv, shaped))
            elif isinstance(event, Progress):
                await queue.put((plan, event.rv, {"type": "BOOKMARK", "object": {}}))
            elif isinstance(event, Resync):
                await queue.put((plan, Gone(event.reason)))
                return
            elif isinstance(event, Failure):
                await queue.put((plan, event.error))
                return


async def _pump(
    plan: WatchPlan, ns: str | None, queue: asyncio.Queue[Item], closing: Closing
) -> None:
    if plan.informers:
        await _pump_cached(plan, ns, queue)
        return
    inner: asyncio.Queue[tuple[str, dict[str, Any]] | BaseException] = asyncio.Queue(QUEUE_SIZE)
    task = asyncio.create_task(
        watch_namespace(
            plan.cluster, plan.rt, ns, plan.credentials, plan.params, plan.start_rv, inner
        )
    )
    try:
        with metrics.open_streams("apiserver-watch"):  # /metrics: upstream watches open now
            while True:
                got = await inner.get()
                if isinstance(got, BaseException):
                    await queue.put((plan, got))
                    return
                await queue.put((plan, got[0], got[1]))
    finally:
        await closing.stop([task])


async def merged_stream(
    request: Request,
    plans: list[WatchPlan],
    *,
    name: str = "",
    needle: str = "",
    multi: bool = False,
    failures: dict[str, str] | None = None,
) -> AsyncIterator[bytes]:
    """Merge the watches of every plan into one SSE stream.

    With several clusters (``multi``) row keys and SSE ids carry the cluster,
    and a cluster whose watch fails is reported while the others go on.
    """
    queue: asyncio.Queue[Item] = asyncio.Queue(QUEUE_SIZE)
    closing = app_state(request).closing
    tasks = [
        asyncio.create_task(_pump(plan, ns, queue, closing))
        for plan in plans
        for ns in plan.namespaces
    ]
    positions = {p.cluster.slug: p.start_rv for p in plans}

    def event_id() -> str:
        if not multi:
            return next(iter(positions.values()), "")
        return orjson.dumps(positions).decode()

    try:
        first = {"resourceVersion": event_id(), "failures": failures or {}}
        yield b"retry: 2000\n" + sse("ready", first, event_id())
        live = len(tasks)
        while live:
            try:
                item = await asyncio.wait_for(queue.get(), HEARTBEAT)
            except TimeoutError:
                yield KEEP_ALIVE
                continue
            plan = item[0]
            if len(item) == 2:
                exc = item[1]
                if isinstance(exc, Gone) and not multi:
                    yield sse("relist", {"reason": "resourceVersion expired"})
                    return
                message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
                if isinstance(exc, Gone):
                    message = "resourceVersion expired: reload to see this cluster's changes"
                if not multi:
                    yield sse("problem", {"message": message})
                    return
                yield sse("problem", {"message": message, "cluster": plan.cluster.slug})
                live -= 1
                continue
            _, event_rv, event = item
            positions[plan.cluster.slug] = event_rv
            kind = event.get("type")
            if kind == "BOOKMARK":
                yield b"id: " + event_id().encode() + b"\n: bookmark\n\n"
                continue
            page = parse_table(event.get("object") or {})
            for row in page.rows:
                key = f"{row.namespace or ''}/{row.name}"
                if multi:
                    key = f"{plan.cluster.slug}/{key}"
                if name:
                    ev = "deleted" if kind == "DELETED" else "changed"
                    yield sse(ev, {"key": key, "type": kind}, event_id())
                elif kind == "DELETED" or (needle and not row_matches(row, needle)):
                    yield sse("delete", {"key": key}, event_id())
                else:
                    html = None
                    if not multi:
                        html = await plugin_calls.live_row(request, plan, row, plugin_row)
                    html = html or _rendered(request, plan, row, multi, event.get("memo"))
                    yield sse("row", {"key": key, "type": kind, "html": html}, event_id())
        yield sse("problem", {"message": "every cluster's watch ended"})
    finally:
        await closing.stop(tasks)


async def watch_view(request: Request, cluster: Cluster) -> Response:
    """``/c/{cluster}/-/watch?resource=pods&namespaces=a,b&resourceVersion=…``."""
    q = request.query_params
    if not q.get("resource"):
        raise errors.BadRequest("watch needs ?resource=<kind>")
    rv = request.headers.get("last-event-id") or q.get("resourceVersion", "")
    name = q.get("name", "")
    plan = await make_plan(
        request,
        cluster,
        q["resource"],
        split_namespaces(q.get("namespaces", "")),
        name=name,
        rv=rv,
    )
    needle = q.get("q", "").strip().lower()
    return sse_response(merged_stream(request, [plan], name=name, needle=needle))
