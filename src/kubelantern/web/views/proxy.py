"""Open in browser: a Service or pod port through the API server's ``proxy`` subresource.

``/c/<cluster>/namespaces/<ns>/services/<name>:<port>/proxy/<path>`` (and
``…/pods/<name>:<port>/proxy/…``) answers what the API server's
``services/proxy`` (``pods/proxy``) answers for the same path, asked with the
signed-in person's own credentials, so RBAC on that subresource decides.

The proxied application shares the Kubelantern origin, so it must not be able
to act as Kubelantern:

* only a short allow-list of request headers goes upstream: never Kubelantern's
  cookies (session, CSRF, desktop key) or an Authorization header;
* its answer loses ``Set-Cookie``, hop-by-hop headers and any policy headers of
  its own, and gets ``Content-Security-Policy: sandbox …`` *without*
  ``allow-same-origin``: the browser runs it in an opaque origin, so its
  scripts cannot read Kubelantern's pages, cookies or storage;
* a ``Location`` outside the proxy prefix is rewritten into it (a path) or
  dropped (another host);
* only GET and HEAD: every other method would need Kubelantern's CSRF token,
  which the sandboxed page never has.

The API server itself rewrites links in HTML answers to its own proxy path
(``/api/v1/namespaces/…/proxy/…``); those are mapped back to ours.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import orjson
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from kubelantern import errors, urls
from kubelantern.auth.access import Check
from kubelantern.clusters.store import Cluster
from kubelantern.web.context import cluster_context
from kubelantern.web.state import app_state

RESOURCES = ("services", "pods")
SANDBOX = (
    "sandbox allow-scripts allow-forms allow-popups allow-downloads allow-modals; "
    "frame-ancestors 'self'"
)
"""The sandbox has no ``allow-same-origin``: the proxied page gets an opaque origin."""

FORWARD_REQUEST = (
    "accept",
    "accept-language",
    "cache-control",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "range",
)
DROP_RESPONSE = frozenset(
    {
        # hop-by-hop (RFC 9110 7.6.1) and what the relay recomputes
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-encoding",
        # what could act on the Kubelantern origin or weaken the sandbox
        "set-cookie",
        "set-cookie2",
        "content-security-policy",
        "content-security-policy-report-only",
        "strict-transport-security",
        "clear-site-data",
        "refresh",
        "link",
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "access-control-allow-headers",
        "access-control-allow-methods",
        "access-control-expose-headers",
        "service-worker-allowed",
        "x-frame-options",
        "www-authenticate",
    }
)
HTML_LIMIT = 10 << 20
"""HTML is read whole to map the API server's link rewriting back; larger pages are cut."""

_TARGET = re.compile(r"^(?:https?:)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(?::[a-z0-9-]+)?$")


def parse_target(target: str) -> str:
    """``name``, ``name:port`` or ``https:name:port``, as the API server accepts them."""
    if not _TARGET.match(target) or len(target) > 300:
        raise errors.BadRequest(f"not a proxy target: {target!r} (use name:port)")
    return target


def upstream_prefix(namespace: str, resource: str, target: str) -> str:
    return f"/api/v1/namespaces/{quote(namespace, safe='')}/{resource}/{target}/proxy"


def local_prefix(prefix: str, cluster: str, namespace: str, resource: str, target: str) -> str:
    return prefix + urls.url_for(
        "proxy", cluster=cluster, namespace=namespace, resource=resource, target=target, path=""
    )


def rewrite_location(location: str, upstream: str, local: str) -> str | None:
    """A redirect target the browser may follow, or None to drop it.

    Relative references stay (they resolve under our prefix); the API server's
    own proxy path maps to ours; another absolute path is taken as relative to
    the application's root; another host is dropped, never followed blindly.
    """
    parts = urlsplit(location)
    if parts.scheme or parts.netloc:
        return None
    if not location.startswith("/"):
        return location
    if location.startswith(local + "/") or location == local:
        return location
    if location.startswith(upstream):
        return local + location[len(upstream) :]
    return local + location


def response_headers(
    upstream: list[tuple[str, str]], up_prefix: str, local: str
) -> list[tuple[str, str]]:
    """The application's headers, sanitised, plus the sandbox."""
    connection = {
        token.strip().lower()
        for name, value in upstream
        if name.lower() == "connection"
        for token in value.split(",")
    }
    out: list[tuple[str, str]] = []
    for name, value in upstream:
        low = name.lower()
        if low in DROP_RESPONSE or low in connection:
            continue
        if low == "location":
            rewritten = rewrite_location(value, up_prefix, local)
            if rewritten is None:
                continue
            value = rewritten
        out.append((low, value))
    out += [
        ("content-security-policy", SANDBOX),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
    ]
    return out


async def proxy_view(
    request: Request, cluster: Cluster, resource: str, namespace: str, target: str
) -> Response:
    """``GET …/{services|pods}/{name}:{port}/proxy/{path}``: the application's answer."""
    if resource not in RESOURCES:
        raise errors.BadRequest("only services and pods can be opened through the proxy")
    target = parse_target(target)
    settings = app_state(request).settings
    local = local_prefix(settings.prefix, cluster.slug, namespace, resource, target)
    up_prefix = upstream_prefix(namespace, resource, target)
    rest = request.path_params["rest"]
    marker = f"/{target}/proxy"
    tail = rest[rest.index(marker) + len(marker) :]
    if request.scope.get("kl_json"):
        tail += ".json"  # the .json twin suffix belongs to the application here
    if not tail:
        # Relative links of the application resolve only under a trailing slash.
        return RedirectResponse(local + "/", status_code=307)
    creds = cluster_context(request, cluster).credentials
    path = up_prefix + quote(tail, safe="/:@!$&'()*+,;=-._~%")
    headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARD_REQUEST}
    headers["X-Forwarded-Prefix"] = local
    params: dict[str, str | int | list[str]] = {
        key: request.query_params.getlist(key) for key in request.query_params
    }
    stack = contextlib.AsyncExitStack()
    upstream = await stack.enter_async_context(
        cluster.client.stream(
            request.method,
            path,
            credentials=creds,
            params=params,
            headers=headers,
            verb="get",
            resource=f"{resource}/proxy",
            namespace=namespace,
            raise_errors=False,
        )
    )
    streaming = False
    try:
        out_headers = response_headers(upstream.headers.multi_items(), up_prefix, local)
        if request.method == "HEAD":
            return _response(b"", upstream.status_code, out_headers)
        if _maybe_status(upstream):
            body = await upstream.aread()
            if _is_api_status(body):
                # The API server's own refusal (RBAC, no endpoints): Kubelantern's error page.
                cluster.client.raise_for(
                    upstream, body, verb="get", resource=f"{resource}/proxy", namespace=namespace
                )
            return _response(body, upstream.status_code, out_headers)
        if upstream.headers.get("content-type", "").startswith("text/html"):
            body = b""
            async for chunk in upstream.aiter_bytes():
                body += chunk
                if len(body) > HTML_LIMIT:
                    break
            body = body[:HTML_LIMIT].replace(up_prefix.encode(), local.encode())
            return _response(body, upstream.status_code, out_headers)
        streaming = True
    finally:
        if not streaming:
            await stack.aclose()

    async def body_stream() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_bytes():
                yield chunk
        finally:
            await stack.aclose()

    response = StreamingResponse(body_stream(), status_code=upstream.status_code)
    response.raw_headers = _raw(out_headers)
    response.background = BackgroundTask(stack.aclose)  # also when the browser left early
    return response


def _response(body: bytes, status: int, headers: list[tuple[str, str]]) -> Response:
    response = Response(body, status_code=status)
    response.raw_headers = [*_raw(headers), (b"content-length", str(len(body)).encode())]
    return response


def _maybe_status(response: httpx.Response) -> bool:
    ctype = response.headers.get("content-type", "")
    return response.status_code >= 400 and ctype.startswith("application/json")


def _is_api_status(body: bytes) -> bool:
    """A ``metav1.Status`` the API server made itself, not the application's error page.

    The application's own 401/403/404 pass through untouched: an application's
    401 must not send the person to Kubelantern's sign-in.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(doc, dict) and doc.get("kind") == "Status" and doc.get("apiVersion") == "v1"


def _raw(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def open_ports(resource: str, obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The TCP ports of a Service or pod that "Open" can proxy to."""
    if resource == "services":
        spec = obj.get("spec") or {}
        if spec.get("type") == "ExternalName":
            return []
        ports = [
            {"name": p.get("name") or "", "port": p.get("port")}
            for p in spec.get("ports") or []
            if (p.get("protocol") or "TCP") == "TCP"
        ]
    else:
        ports = [
            {"name": p.get("name") or "", "port": p.get("containerPort"), "container": c["name"]}
            for c in (obj.get("spec") or {}).get("containers") or []
            for p in c.get("ports") or []
            if (p.get("protocol") or "TCP") == "TCP"
        ]
    return [p for p in ports if isinstance(p["port"], int)]


async def open_links(
    request: Request, cluster: Cluster, resource: str, obj: dict[str, Any]
) -> dict[str, Any]:
    """``openPorts`` for a detail page: each port's proxy URL, and whether RBAC allows it."""
    if resource not in RESOURCES:
        return {}
    meta = obj.get("metadata") or {}
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    ports = open_ports(resource, obj)
    if not ports:
        return {"openPorts": [], "openAccess": None}
    decision = await cluster_context(request, cluster).can(
        Check(verb="get", resource=resource, subresource="proxy", namespace=namespace, name=name)
    )
    for p in ports:
        target = f"{name}:{p['port']}"
        p["url"] = (
            urls.url_for(
                "proxy",
                cluster=cluster.slug,
                namespace=namespace,
                resource=resource,
                target=target,
                path="",
            )
            + "/"
        )
    return {"openPorts": ports, "openAccess": decision.to_dict()}
