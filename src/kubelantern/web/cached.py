"""List pages and live streams served from the shared watch cache (``kubelantern.cache``).

Used only when ``--watch-cache`` is on and the request is one the cache can
answer exactly as the API server would: no label or field selector (the
cache holds the unfiltered list), no whole objects for a plugin's column
processor (it holds Table rows), and a person the cache's access check lets
in. Anything else, or ``None`` from here, goes upstream as before.

Because the cache holds the whole list, ``?sort=`` sorts every row, not just
the page, and the text filter scans memory instead of the API server.
Continue tokens of cached pages are offsets (``kl.…``); an upstream token is
never mistaken for one, and such a request goes upstream.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from kubelantern import errors
from kubelantern.cache import Informer, Reader, WatchCache
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.store import Cluster
from kubelantern.resources.listing import ListQuery, ListResult, row_matches
from kubelantern.resources.table import Row
from kubelantern.web import plugin_calls
from kubelantern.web.context import cluster_context
from kubelantern.web.state import app_state

TOKEN_PREFIX = "kl."


def cache_of(request: Request) -> WatchCache | None:
    return app_state(request).watch_cache


def reader_for(request: Request, cluster: Cluster) -> Reader:
    ctx = cluster_context(request, cluster)
    return Reader(ctx.credentials, ctx.identity)


def answerable(request: Request, rt: ResourceType, *, selectors: bool = True) -> bool:
    """Whether the cache could answer this request the way the API server would."""
    q = request.query_params
    if selectors and (q.get("labelSelector") or q.get("fieldSelector")):
        return False
    return not plugin_calls.wants_objects(request, rt)


def encode_offset(offset: int) -> str:
    raw = base64.urlsafe_b64encode(orjson.dumps({"o": offset})).decode().rstrip("=")
    return TOKEN_PREFIX + raw


def decode_offset(token: str) -> int | None:
    """The offset of a cached page's token; None for an upstream token (or none)."""
    if not token.startswith(TOKEN_PREFIX):
        return None if token else 0
    raw = token[len(TOKEN_PREFIX) :]
    try:
        offset = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))["o"]
    except (ValueError, KeyError, TypeError):
        raise errors.BadRequest("the 'continue' token of this list is not valid") from None
    if not isinstance(offset, int) or offset < 0:
        raise errors.BadRequest("the 'continue' token of this list is not valid")
    return offset


@dataclass
class WholeList(ListResult):
    """Every matching row; the page is cut after sorting (``page``)."""

    offset: int = 0
    limit: int = 100
    filtered: bool = False

    def page(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """This page of the sorted rows; sets the continue token and the remaining count."""
        end = self.offset + self.limit
        more = len(rows) > end
        self.continue_token = encode_offset(end) if more else ""
        self.remaining = len(rows) - end if more and not self.filtered else None
        return rows[self.offset : end]


async def list_rows(
    request: Request,
    cluster: Cluster,
    rt: ResourceType,
    namespaces: list[str],
    query: ListQuery,
    *,
    whole: bool = False,
) -> ListResult | None:
    """The list from the cache: a page, or with ``whole`` every row (``WholeList``).

    None: not from the cache (off, not answerable, not allowed, an upstream token).
    """
    cache = cache_of(request)
    if cache is None or not answerable(request, rt) or query.include_object:
        return None
    offset = decode_offset(request.query_params.get("continue", ""))
    if offset is None or (offset and len(namespaces) > 1):
        return None
    reader = reader_for(request, cluster)
    targets: list[str | None] = list(namespaces) if rt.namespaced and namespaces else [None]
    snapshots = []
    for ns in targets:
        try:
            snap = await cache.snapshot(cluster, rt, ns, reader)
        except errors.ClusterUnavailable:
            raise  # the API server would not answer either
        except errors.KubelanternError:
            return None  # the person's own request upstream gives the real answer
        if snap is None:
            return None
        snapshots.append(snap)
    needle = query.needle.lower()
    if len(targets) > 1:  # as list_many does: up to a page per namespace
        merged = ListResult(columns=[], rows=[], namespaces=list(namespaces))
        rvs = []
        for ns, snap in zip(namespaces, snapshots, strict=True):
            rows = [r for r in snap.rows if row_matches(r, needle)] if needle else snap.rows
            merged.columns = merged.columns or snap.columns
            merged.rows.extend(rows[: query.limit])
            merged.scanned += len(snap.rows)
            rvs.append(int(snap.resource_version) if snap.resource_version.isdigit() else 0)
            if len(rows) > query.limit:
                merged.truncated.append(ns)
        merged.resource_version = str(min(rvs)) if rvs else ""
        return merged
    (snap,) = snapshots
    matching: list[Row] = [r for r in snap.rows if row_matches(r, needle)] if needle else snap.rows
    if whole:
        return WholeList(
            snap.columns,
            list(matching),
            snap.resource_version,
            scanned=len(snap.rows),
            offset=offset,
            limit=query.limit,
            filtered=bool(needle),
        )
    end = offset + query.limit
    more = len(matching) > end
    return ListResult(
        snap.columns,
        matching[offset:end],
        snap.resource_version,
        encode_offset(end) if more else "",
        len(matching) - end if more and not needle else None,
        scanned=len(snap.rows),
    )


Recheck = Callable[[str | None], Awaitable[bool]]


def recheck_for(request: Request, cluster: Cluster, rt: ResourceType) -> tuple[Recheck, float]:
    """For a live stream: ask again whether the person may still list and watch, and how often."""
    cache = cache_of(request)
    assert cache is not None
    reader = reader_for(request, cluster)

    async def allowed(namespace: str | None) -> bool:
        return await cache.still_allowed(cluster, rt, namespace, reader)

    return allowed, cache.gate.ttl


async def informers_for(
    request: Request,
    cluster: Cluster,
    rt: ResourceType,
    targets: list[str | None],
    *,
    selectors: bool,
) -> dict[str | None, Informer] | None:
    """Synced informers for a live stream, one per namespace; None: watch upstream."""
    cache = cache_of(request)
    if cache is None or not answerable(request, rt, selectors=selectors):
        return None
    reader = reader_for(request, cluster)
    found: dict[str | None, Informer] = {}
    for ns in targets:
        informer = await cache.informer(cluster, rt, ns, reader)
        if informer is None:
            return None
        try:
            await informer.wait_synced(cache.sync_timeout)
        except (errors.Unauthorized, errors.Forbidden):
            return None
        found[ns] = informer
    return found
