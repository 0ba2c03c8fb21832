"""One async HTTP client per cluster, and the mapping of its failures to errors.

The client takes an optional httpx transport (the seam for unit tests); the
identity of each request comes from a ``Credentials`` object passed per call,
so one client serves every user of a multi-user server.

The TLS client certificate is the one thing fixed per connection pool, and an
exec plugin may rotate it. Rotation is serialised (one new pair of pools, however
many requests notice it at once); new requests use the new pools at once, and
the old pools close only when the last request or stream still using them ends,
so a rotation never cuts an open watch or log follow.

A kubeconfig's ``tls-server-name`` is the name sent in TLS (SNI) and checked
against the server's certificate when the server address is not a name the
certificate holds (a tunnel, a load balancer's IP): httpx's ``sni_hostname``
request extension for HTTP, ``server_hostname`` for WebSockets.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
import orjson

from kubelantern import errors, metrics
from kubelantern.clusters.addresses import GuardedTransport
from kubelantern.clusters.credentials import Credentials, KubeconfigCredentials, NoCredentials
from kubelantern.clusters.execplugin import ExecCredential, ExecPluginError
from kubelantern.clusters.kubeconfig import ClusterConfig
from kubelantern.clusters.tls import make_ssl_context, tls_name_hint

log = logging.getLogger(__name__)

Params = Mapping[str, str | int | list[str]] | None


def _bad_url(path: str, cluster: str) -> errors.BadRequest:
    """A name from the page URL that no API path can carry (a NUL, a control character).

    No Kubernetes object can be named so, so it is the request that is wrong:
    400, never the 500 an escaping ``httpx.InvalidURL`` would give.
    """
    return errors.BadRequest(
        "The address names an object with a character no Kubernetes name can have "
        f"(a control character): {path.encode('unicode_escape').decode('ascii')[:200]}",
        cluster=cluster,
    )


@dataclass(frozen=True)
class PoolLimits:
    """Connections to one API server (``--upstream-connections``, ``--upstream-keepalive``,
    ``--upstream-http2``)."""

    connections: int = 100
    keepalive: int = 20
    http2: bool = False

    def __post_init__(self) -> None:
        if self.connections < 1 or self.keepalive < 0:
            raise ValueError(
                "upstream connections must be at least 1 and kept-alive ones at least 0"
            )


@dataclass(eq=False)
class _Pools:
    """The connection pools of one TLS client identity, and who is still using them."""

    http: httpx.AsyncClient
    # Long-lived streams (watches, log follows) get their own pool without a
    # limit, so a hundred open tabs cannot starve ordinary page requests.
    stream_http: httpx.AsyncClient
    ssl: ssl.SSLContext
    cert_key: tuple[bytes | None, bytes | None]
    active: int = 0
    retired: bool = False
    closing: asyncio.Task[None] | None = field(default=None, repr=False)

    async def aclose(self) -> None:
        for client in (self.http, self.stream_http):
            await client.aclose()


class ClusterClient:
    """Talks to one API server; raises ``kubelantern.errors`` on failure."""

    def __init__(
        self,
        config: ClusterConfig,
        *,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
        anonymous: bool = False,
        guard: frozenset[str] | None = None,
        pool: PoolLimits | None = None,
    ) -> None:
        # anonymous: modes bearer and oidc send the user's token with every request,
        # so the client presents nothing of its own (no client certificate, no
        # kubeconfig token or exec plugin): a request without the user's token can
        # never fall back to the kubeconfig's rights.
        self.anonymous = anonymous
        # guard: a cluster added from the UI; the address classes it may connect to,
        # checked at every connection (kubelantern.clusters.addresses).
        self.guard = guard
        self.config = config
        self.name = config.name
        # /metrics needs no sign-in: added clusters are counted, never named there.
        self.metrics_name = config.name if guard is None else "(added)"
        self.timeout = timeout
        self.pool = pool or PoolLimits()
        self.own_credentials = KubeconfigCredentials(config)
        self._transport = transport
        self._pools: _Pools | None = None
        # Pools replaced by a certificate rotation, still serving open streams.
        self._retired: set[_Pools] = set()
        self._rotation = asyncio.Lock()
        self.rotations = 0  # pools built after the first (a certificate rotation)
        # SNI and certificate check against this name instead of the URL's host.
        self._extensions: dict[str, Any] = (
            {"sni_hostname": config.tls_server_name} if config.tls_server_name else {}
        )

    async def _exec_credential(self) -> ExecCredential:
        """The exec plugin's credential; a plugin that fails is this cluster's error only."""
        try:
            return await self.own_credentials.exec_credential()
        except ExecPluginError as exc:
            raise errors.CredentialsUnavailable(str(exc), cluster=self.name) from exc

    async def _wanted_cert(self) -> tuple[bytes | None, bytes | None]:
        if self.config.broken:
            raise errors.KubeconfigBroken(self.config.broken, cluster=self.name)
        if self.anonymous:
            return None, None
        cert, key = self.config.client_cert_data, self.config.client_key_data
        if self.own_credentials.uses_exec:
            cred = await self._exec_credential()
            if cred.client_cert and cred.client_key:
                cert, key = cred.client_cert, cred.client_key
        return cert, key

    async def _current(self) -> _Pools:
        """The pools for the client certificate in force now (built on first use or rotation)."""
        cert_key = await self._wanted_cert()
        pools = self._pools
        if pools is not None and pools.cert_key == cert_key:
            return pools
        async with self._rotation:  # one rotation at a time, one new pair of pools
            pools = self._pools
            if pools is not None and pools.cert_key == cert_key:
                return pools
            fresh = self._build(cert_key)
            if pools is not None:
                self.rotations += 1
                self._retire(pools)
            self._pools = fresh
            return fresh

    def _build(self, cert_key: tuple[bytes | None, bytes | None]) -> _Pools:
        cert, key = cert_key
        ctx: ssl.SSLContext = make_ssl_context(
            ca_data=self.config.ca_data,
            insecure=self.config.insecure_skip_tls_verify,
            client_cert=cert,
            client_key=key,
        )
        common: dict[str, Any] = {
            "base_url": self.config.server,
            "verify": ctx,
            "timeout": httpx.Timeout(self.timeout),
            "proxy": self.config.proxy_url,
            "trust_env": False,
            "headers": {"User-Agent": "kubelantern"},
            # Never keep cookies: answers proxied from applications (services/proxy)
            # may set some, and the client is shared by every user of the cluster.
            "cookies": CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            "event_hooks": metrics.httpx_hooks(self.metrics_name),  # API calls by status
        }
        keepalive = min(self.pool.keepalive, self.pool.connections)
        limits = httpx.Limits(
            max_connections=self.pool.connections, max_keepalive_connections=keepalive
        )
        stream_limits = httpx.Limits(max_connections=None, max_keepalive_connections=keepalive)
        http2 = self.pool.http2
        ordinary_ctx = ctx
        if http2:
            # httpcore sets ALPN on the context it is given at every connection:
            # the HTTP/2 pool gets a context of its own, so the streaming pool and
            # WebSockets (which use ``ctx``) always speak HTTP/1.1.
            ordinary_ctx = make_ssl_context(
                ca_data=self.config.ca_data,
                insecure=self.config.insecure_skip_tls_verify,
                client_cert=cert,
                client_key=key,
            )
        return _Pools(
            http=httpx.AsyncClient(
                **{**common, "verify": ordinary_ctx},
                limits=limits,
                http2=http2,
                transport=self._make_transport(ordinary_ctx, limits, http2=http2),
            ),
            stream_http=httpx.AsyncClient(
                **common, limits=stream_limits, transport=self._make_transport(ctx, stream_limits)
            ),
            ssl=ctx,
            cert_key=cert_key,
        )

    def _retire(self, pools: _Pools) -> None:
        pools.retired = True
        self._retired.add(pools)
        self._close_when_idle(pools)

    def _close_when_idle(self, pools: _Pools) -> None:
        if pools.retired and pools.active == 0 and pools.closing is None:
            pools.closing = asyncio.get_running_loop().create_task(pools.aclose())
            pools.closing.add_done_callback(lambda _: self._retired.discard(pools))

    @asynccontextmanager
    async def _use(self, *, streaming: bool = False) -> AsyncIterator[httpx.AsyncClient]:
        """A client of the current pools, kept open until the caller is done with it."""
        pools = await self._current()
        pools.active += 1
        try:
            yield pools.stream_http if streaming else pools.http
        finally:
            pools.active -= 1
            self._close_when_idle(pools)

    def _make_transport(
        self, ctx: ssl.SSLContext, limits: httpx.Limits | None, *, http2: bool = False
    ) -> httpx.AsyncBaseTransport | None:
        if self._transport is not None or self.guard is None:
            return self._transport
        if self.config.proxy_url:
            # The connection goes to the proxy, which then reaches the server: a
            # proxy-url was allowed explicitly (--added-cluster-allow proxy-url)
            # and its address checked when the cluster was added.
            return None
        return GuardedTransport(ssl_context=ctx, allow=self.guard, limits=limits, http2=http2)

    async def websocket_params(
        self, credentials: Credentials | None
    ) -> tuple[str, ssl.SSLContext, list[tuple[str, str]]]:
        """Server URL, TLS context and identity headers for a WebSocket (exec, attach).

        httpx cannot upgrade to a WebSocket, so the streams package opens those
        with another library; it must present the same TLS client certificate
        and per-user headers as every other request of this cluster (and the
        same ``tls-server-name``, which the caller passes as ``server_hostname``).
        """
        pools = await self._current()
        headers = await self._headers(credentials, None)
        return self.config.server, pools.ssl, headers.multi_items()

    async def aclose(self) -> None:
        """Close every pool, in use or not: the application is shutting down."""
        everything = [*self._retired, *([self._pools] if self._pools else [])]
        self._pools = None
        for pools in everything:
            if pools.closing is not None:
                await pools.closing
            else:
                pools.retired = True
                pools.closing = asyncio.get_running_loop().create_task(pools.aclose())
                await pools.closing
        self._retired.clear()

    def raise_for(
        self,
        response: httpx.Response,
        body: bytes,
        *,
        verb: str | None,
        resource: str | None,
        namespace: str | None,
    ) -> None:
        """Raise the ApiError of an error answer; public for ``stream(raise_errors=False)``."""
        try:
            status_doc = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            status_doc = {}
        if not isinstance(status_doc, dict):
            status_doc = {}
        message = str(status_doc.get("message") or body[:300].decode(errors="replace").strip())
        if not message:
            message = f"HTTP {response.status_code}"
        cls = errors.api_error_for(response.status_code)
        raise cls(
            message,
            status=response.status_code,
            reason=str(status_doc.get("reason") or ""),
            details=status_doc.get("details") or {},
            cluster=self.name,
            verb=verb,
            resource=resource,
            namespace=namespace,
        )

    def _transport_error(self, exc: httpx.TransportError) -> errors.KubelanternError:
        metrics.api_error(self.metrics_name, exc)
        if isinstance(exc, httpx.TimeoutException):
            return errors.ClusterTimeout(
                f"{self.config.server} did not answer within {self.timeout:g} s",
                cluster=self.name,
            )
        hint = tls_name_hint(self.config, exc)
        if hint is not None:
            return errors.ClusterUnavailable(
                f"cannot reach {self.config.server}: {hint}", cluster=self.name
            )
        reason = str(exc) or type(exc).__name__
        return errors.ClusterUnavailable(
            f"cannot reach {self.config.server}: {reason}", cluster=self.name
        )

    async def _headers(
        self, credentials: Credentials | None, extra: Mapping[str, str] | None
    ) -> httpx.Headers:
        creds: Credentials = self.own_credentials
        if credentials is not None:
            creds = credentials
        elif self.anonymous:
            creds = NoCredentials()
        try:
            headers = httpx.Headers(await creds.headers())
        except ExecPluginError as exc:  # not the user's fault: no sign-in would help
            raise errors.CredentialsUnavailable(str(exc), cluster=self.name) from exc
        except Exception as exc:  # a token file failure: tell the user what failed
            raise errors.Unauthorized(
                f"could not get credentials for cluster {self.name}: {exc}",
                status=401,
                cluster=self.name,
            ) from exc
        if extra:
            headers.update(extra)
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        credentials: Credentials | None = None,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        timeout: float | None = None,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
    ) -> httpx.Response:
        """Send one request; a 4xx/5xx answer raises the matching ApiError."""
        for attempt in (1, 2):
            async with self._use() as http:
                hdrs = await self._headers(credentials, headers)
                try:
                    response = await http.request(
                        method,
                        path,
                        params=params,
                        headers=hdrs,
                        content=content,
                        timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                        extensions=self._extensions,
                    )
                except httpx.TransportError as exc:
                    raise self._transport_error(exc) from exc
                except httpx.InvalidURL as exc:
                    raise _bad_url(path, self.name) from exc
            if response.status_code == 401 and attempt == 1:
                creds = credentials if credentials is not None else self.own_credentials
                creds.invalidate()
                own = credentials is None or getattr(credentials, "uses_own", False)
                if own and not self.anonymous and self.own_credentials.refreshable:
                    continue  # a fresh exec credential or re-read token file may be accepted
            if response.status_code >= 400:
                self.raise_for(
                    response, response.content, verb=verb, resource=resource, namespace=namespace
                )
            return response
        raise AssertionError("unreachable")

    async def json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A request whose answer is a JSON object."""
        response = await self.request(method, path, **kwargs)
        data = orjson.loads(response.content)
        if not isinstance(data, dict):
            raise errors.KubelanternError(f"unexpected answer from {path}", cluster=self.name)
        return data

    async def post_json(self, path: str, body: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        """POST a JSON object (a review, an eviction...) and return the answer's object."""
        headers = {"Content-Type": "application/json", **(kwargs.pop("headers", None) or {})}
        return await self.json("POST", path, content=orjson.dumps(body), headers=headers, **kwargs)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        credentials: Credentials | None = None,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
        raise_errors: bool = True,
    ) -> AsyncIterator[httpx.Response]:
        """A streaming request (watch, logs); errors are raised before the body.

        ``raise_errors=False`` hands 4xx/5xx answers back too: the service proxy
        passes an application's own error pages through.
        """
        async with self._use(streaming=True) as http:
            hdrs = await self._headers(credentials, headers)
            try:
                request = http.build_request(
                    method,
                    path,
                    params=params,
                    headers=hdrs,
                    timeout=httpx.Timeout(self.timeout, read=timeout),
                    extensions=self._extensions,
                )
            except httpx.InvalidURL as exc:
                raise _bad_url(path, self.name) from exc
            try:
                response = await http.send(request, stream=True)
            except httpx.TransportError as exc:
                raise self._transport_error(exc) from exc
            try:
                if response.status_code >= 400 and raise_errors:
                    body = await response.aread()
                    self.raise_for(
                        response, body, verb=verb, resource=resource, namespace=namespace
                    )
                yield response
            finally:
                await response.aclose()
