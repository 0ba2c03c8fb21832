"""Log pages: a pod's container, or every pod of a workload with a per-pod prefix.

Three URLs per target, all under the object's own URL:

``…/pods/{name}/logs``            the page (and its JSON twin): pickers and a viewer
``…/pods/{name}/logs/stream``     Server-Sent Events relaying the API server's log,
                                  line by line, following if asked
``…/pods/{name}/logs/download``   the same lines as plain text, for saving

``…/deployments.apps/{name}/logs`` (and StatefulSets, DaemonSets, ReplicaSets,
Jobs, ReplicationControllers) do the same for all pods the selector picks,
merged as lines arrive. The query string holds the whole view state and
mirrors the API's PodLogOptions: ``container``, ``previous``, ``timestamps``,
``tailLines``, ``sinceSeconds``/``sinceTime``, ``follow``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from kubelantern import errors, urls
from kubelantern.auth.access import Check
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.store import Cluster
from kubelantern.operate.readonly import is_read_only
from kubelantern.streams import logs as podlogs
from kubelantern.streams.logs import Line, LogOptions, NewSource, Notice, Source
from kubelantern.web.context import cluster_context
from kubelantern.web.nav import nav_context
from kubelantern.web.render import render, wants_json
from kubelantern.web.sse import HEARTBEAT, KEEP_ALIVE, sse, sse_response
from kubelantern.web.state import app_state
from kubelantern.web.views import portforward as portforward_views

log = logging.getLogger(__name__)


@dataclass
class Target:
    """What the logs are of: one pod, or the pods of a workload."""

    rt: ResourceType
    namespace: str
    name: str
    options: LogOptions
    sources: list[Source]
    containers: list[dict[str, Any]] = field(default_factory=list)
    pods: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def aggregated(self) -> bool:
        return self.rt.name != "pods"

    def url(self, cluster: str, rest: str = "", query: urls.Query | None = None) -> str:
        """The log page of this target (``rest``: its ``stream`` or ``download``)."""
        return urls.url_for(
            "object_logs",
            query,
            cluster=cluster,
            namespace=self.namespace,
            resource=self.rt.name,
            name=self.name,
            rest=rest,
        )


def _pod_target(pod: dict[str, Any], rt: ResourceType, ns: str, options: LogOptions) -> Target:
    name = pod["metadata"]["name"]
    conts = podlogs.containers(pod)
    names = [c["name"] for c in conts]
    chosen = options.container or podlogs.default_container(pod)
    if chosen not in names:
        raise errors.BadRequest(
            f"pod {name} has no container {chosen!r}; it has {', '.join(names) or 'none'}"
        )
    options = replace(options, container=chosen)
    return Target(rt, ns, name, options, [Source(name, chosen)], conts, [name])


async def resolve(
    request: Request,
    cluster: Cluster,
    rt: ResourceType,
    namespace: str,
    name: str,
    options: LogOptions,
) -> Target:
    """Find the containers to read; only the stream endpoint may skip the pod lookup."""
    creds = cluster_context(request, cluster).credentials
    if rt.name == "pods":
        pod = await podlogs.get_pod(cluster, creds, namespace, name)
        return _pod_target(pod, rt, namespace, options)
    _, pods = await podlogs.workload_pods(cluster, creds, rt, namespace, name)
    seen: dict[str, dict[str, Any]] = {}
    for pod in pods:
        for c in podlogs.containers(pod):
            seen.setdefault(c["name"], {"name": c["name"], "kind": c["kind"]})
    sources = podlogs.workload_sources(pods, options.container)
    notes = []
    if not pods:
        notes.append(f"{rt.kind} {name} selects no pods right now.")
    if len(sources) > podlogs.MAX_SOURCES:
        notes.append(
            f"Showing the first {podlogs.MAX_SOURCES} of {len(sources)} pods; "
            "open a pod's own logs for the others."
        )
        sources = sources[: podlogs.MAX_SOURCES]
    return Target(
        rt,
        namespace,
        name,
        options,
        sources,
        list(seen.values()),
        [p["metadata"]["name"] for p in pods],
        notes,
    )


async def logs_view(
    request: Request,
    cluster: Cluster,
    resource: str,
    namespace: str,
    name: str,
    rest: list[str],
) -> Response:
    """Route ``…/{resource}/{name}/logs[/stream|/download]``."""
    rt = await cluster_context(request, cluster).resolve(resource)
    if rt.name != "pods" and rt.name not in podlogs.WORKLOADS:
        raise errors.BadRequest(
            f"{rt.kind} has no logs; logs are shown for pods and for "
            + ", ".join(sorted(podlogs.WORKLOADS)),
            cluster=cluster.slug,
        )
    match rest:
        case []:
            return await page(request, cluster, rt, namespace, name)
        case ["stream"]:
            return await stream(request, cluster, rt, namespace, name)
        case ["download"]:
            return await download(request, cluster, rt, namespace, name)
        case ["links"]:
            return await stream_links(request, cluster, rt, namespace, name)
    raise errors.BadRequest(f"no page at {request.url.path}")


async def stream_links(
    request: Request, cluster: Cluster, rt: ResourceType, namespace: str, name: str
) -> Response:
    """The detail page's Logs / Terminal / Attach buttons, each checked with RBAC first.

    Loaded by the detail page after it renders (htmx), so its reviews never slow
    the page down; a refused one is a disabled button that says why.
    """
    ctx = cluster_context(request, cluster)
    _ = ctx.credentials  # not signed in: the sign-in page, not refused buttons
    checks = [("logs", "log")]
    if rt.name == "pods":
        checks += [("exec", "exec"), ("attach", "attach"), ("debug", "ephemeralcontainers")]
    read_only = is_read_only(app_state(request).settings, cluster)
    links: dict[str, dict[str, Any]] = {}
    for key, sub in checks:
        verb = {"log": "get", "ephemeralcontainers": "patch"}.get(sub, "create")
        check = Check(verb=verb, resource="pods", subresource=sub, namespace=namespace)
        decision = (await ctx.can(check)).to_dict()
        if read_only and sub != "log":
            decision = {"allowed": False, "reason": "Kubelantern is read-only for this cluster"}
        links[key] = decision
    if rt.name in ("pods", "deployments.apps"):
        on, why = portforward_views.enabled(
            app_state(request).settings, cluster, app_state(request).desktop
        )
        check = Check(
            verb="create", resource="pods", subresource="portforward", namespace=namespace
        )
        decision = (await ctx.can(check)).to_dict()
        if not on or read_only:
            decision = {
                "allowed": False,
                "reason": why or "Kubelantern is read-only for this cluster",
            }
        links["portforward"] = decision
    base = urls.object_url(cluster, rt, namespace, name)
    data = {"objectUrl": base, "links": links, "pod": rt.name == "pods"}
    return render(request, "_stream_links.html", data)


async def page(
    request: Request, cluster: Cluster, rt: ResourceType, namespace: str, name: str
) -> Response:
    q = request.query_params
    options = LogOptions.from_query(q, follow=q.get("follow", "1") in ("1", "true", "on"))
    target = await resolve(request, cluster, rt, namespace, name, options)
    ctx = cluster_context(request, cluster)
    _ = ctx.credentials  # not signed in: the sign-in page, not a refusal
    decision = await ctx.can(
        Check(verb="get", resource="pods", subresource="log", namespace=namespace)
    )
    query = target.options.query()
    object_url = urls.object_url(cluster, rt, namespace, name)
    data = {
        "clusterName": cluster.slug,
        "namespace": namespace,
        "name": name,
        "resource": rt.to_dict(),
        "aggregated": target.aggregated,
        "options": target.options.to_dict(),
        "containers": target.containers,
        "container": target.options.container,
        "pods": target.pods,
        "sources": [{"pod": s.pod, "container": s.container} for s in target.sources],
        "notes": target.notes,
        "access": {"logs": decision.to_dict()},
        "objectUrl": object_url,
        "pageUrl": target.url(cluster.slug),
        "streamUrl": target.url(cluster.slug, "stream", query),
        "downloadUrl": target.url(cluster.slug, "download", {**query, "follow": "0"}),
    }
    context = None
    if not wants_json(request):
        context = {"nav": await nav_context(request, cluster, namespace, rt.name)}
    return render(request, "logs.html", data, context=context)


async def _sources(
    request: Request,
    cluster: Cluster,
    rt: ResourceType,
    namespace: str,
    name: str,
    options: LogOptions,
) -> list[Source]:
    if rt.name == "pods" and options.container:
        return [Source(name, options.container)]  # the page already chose: no lookup
    return (await resolve(request, cluster, rt, namespace, name, options)).sources


async def stream(
    request: Request, cluster: Cluster, rt: ResourceType, namespace: str, name: str
) -> Response:
    """SSE: ``ready`` (the sources), ``line`` {t, s}, ``notice`` per ended source, ``end``."""
    options = LogOptions.from_query(request.query_params)
    sources = await _sources(request, cluster, rt, namespace, name, options)
    creds = cluster_context(request, cluster).credentials

    discover = None
    if rt.name != "pods" and options.follow:

        async def discover() -> list[Source]:
            """The workload's pods now: a rollout or scale-up adds some."""
            _, pods = await podlogs.workload_pods(cluster, creds, rt, namespace, name)
            return podlogs.workload_sources(pods, options.container)

    async def events() -> AsyncIterator[bytes]:
        index = {s: i for i, s in enumerate(sources)}
        ready = {
            "sources": [{"pod": s.pod, "container": s.container} for s in sources],
            "follow": options.follow,
        }
        # No automatic reconnect: it would replay the tail and duplicate lines.
        yield b"retry: 86400000\n" + sse("ready", ready)
        async for batch in podlogs.read_sources(
            cluster,
            creds,
            namespace,
            sources,
            options,
            closing=app_state(request).closing,
            idle=HEARTBEAT,
            discover=discover,
        ):
            if not batch:
                yield KEEP_ALIVE
                continue
            out = bytearray()
            for item in batch:
                if isinstance(item, Line):
                    out += sse("line", {"t": item.text, "s": index[item.source]})
                elif isinstance(item, NewSource):
                    index[item.source] = len(index)
                    new = {"pod": item.source.pod, "container": item.source.container}
                    out += sse("source", {**new, "s": index[item.source]})
                else:
                    notice = {
                        "level": item.level,
                        "message": item.message,
                        "status": item.status,
                        "s": index[item.source],
                    }
                    out += sse("notice", notice)
            yield bytes(out)
        yield sse("end", {})

    return sse_response(events())


def _filename(rt: ResourceType, name: str, options: LogOptions, aggregated: bool) -> str:
    parts = [name] if aggregated else [name, options.container]
    if options.previous:
        parts.append("previous")
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in "_".join(parts))
    return f"{safe}.log"


async def download(
    request: Request, cluster: Cluster, rt: ResourceType, namespace: str, name: str
) -> Response:
    """Plain text, never following; one container's bytes as they are, or prefixed lines."""
    options = LogOptions.from_query(request.query_params, follow=False)
    if options.limit_bytes is None:
        options = replace(options, limit_bytes=podlogs.DOWNLOAD_LIMIT)
    sources = await _sources(request, cluster, rt, namespace, name, options)
    creds = cluster_context(request, cluster).credentials
    aggregated = rt.name != "pods"
    headers = {
        "Content-Disposition": (
            f'attachment; filename="{_filename(rt, name, options, aggregated)}"'
        ),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    stack = AsyncExitStack()
    if not aggregated:
        # Open the upstream before answering, so a refusal is a real 403/404 page.
        (source,) = sources
        chunks = await stack.enter_async_context(
            podlogs.open_log(cluster, creds, namespace, source, options)
        )

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in chunks:
                    yield chunk
            finally:
                await stack.aclose()

    else:

        async def body() -> AsyncIterator[bytes]:
            async for batch in podlogs.read_sources(
                cluster, creds, namespace, sources, options, closing=app_state(request).closing
            ):
                out = bytearray()
                for item in batch:
                    if isinstance(item, Line):
                        out += f"[{item.source.label}] {item.text}\n".encode()
                    elif isinstance(item, Notice) and item.level == "error":
                        out += f"# [{item.source.label}] {item.message}\n".encode()
                yield bytes(out)

    return StreamingResponse(
        body(),
        media_type="text/plain; charset=utf-8",
        headers=headers,
        background=BackgroundTask(stack.aclose),
    )
