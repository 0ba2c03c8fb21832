"""One request's context: who asks, with which credentials, where, seeing what.

A page needs the same facts in many places: the sidebar, the namespace
chooser, the list itself, the action buttons, the plugins' columns. Each used
to start again from the raw request, so one overview page picked its
credentials seven times and fetched the same access rules from several
helpers. ``request_context(request)`` builds a ``RequestContext`` on first use
and keeps it in ``request.state``, so every later call during the same request
(any ``Request`` or ``WebSocket`` object over the same ASGI scope) gets the same
one; ``cluster_context(request, cluster)`` is its view of one cluster:

* ``credentials`` and ``identity``: ``auth.credentials_for`` / ``identity_key``,
  worked out once (a refusal such as ``NotSignedIn`` is kept and raised again);
* ``known_namespaces``: the namespaces offered when listing them is not allowed;
* ``discovery()`` / ``resolve(name)``: the cluster's discovery, asked once;
* ``can(check)`` / ``permissions(...)`` / ``resource_rules(ns)``: access and rules
  reviews through the app's cache (``AppState.access``), each asked at most
  once per request even when several helpers ask at the same time.

The context holds nothing beyond the request: it is dropped with it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar
from urllib.parse import unquote

from starlette.requests import HTTPConnection

from kubelantern import auth
from kubelantern.auth.access import Check, Decision
from kubelantern.auth.identity import RequestAuth
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import DiscoveryResult, ResourceType
from kubelantern.clusters.store import Cluster
from kubelantern.web.state import AppState, app_state

__all__ = [
    "KNOWN_COOKIE",
    "NS_COOKIE",
    "ClusterContext",
    "RequestContext",
    "cluster_context",
    "cookie_list",
    "request_context",
    "split_namespaces",
    "valid_namespace",
]

_NS_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
NS_COOKIE = "kl_ns."  # + cluster: the namespaces chosen last (web/nav.py)
KNOWN_COOKIE = "kl_known_ns."  # + cluster: namespaces the user typed in
_STATE_KEY = "kl_context"

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def valid_namespace(name: str) -> bool:
    return len(name) <= 63 and bool(_NS_RE.match(name))


def split_namespaces(raw: str) -> list[str]:
    out: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if name and valid_namespace(name) and name not in out:
            out.append(name)
    return out


def cookie_list(request: HTTPConnection, name: str) -> list[str]:
    return split_namespaces(unquote(request.cookies.get(name, "")))


def known_namespaces(request: HTTPConnection, state: AppState, cluster: Cluster) -> list[str]:
    """The configured namespaces, the context's default one and those the user typed
    in (a cookie), in that order; ``ClusterContext.known_namespaces`` keeps them."""
    names: list[str] = []
    sources = [
        list(state.settings.namespaces),
        [cluster.default_namespace] if cluster.default_namespace else [],
        cookie_list(request, KNOWN_COOKIE + cluster.slug),
    ]
    for source in sources:
        for name in source:
            if name and name not in names:
                names.append(name)
    return names


class _Once(Generic[K, V]):
    """Answers by key, each computed once even when asked for concurrently.

    A failure is not kept: the next caller asks again (as without the context).
    """

    def __init__(self) -> None:
        self._values: dict[K, V] = {}
        self._locks: dict[K, asyncio.Lock] = {}

    async def get(self, key: K, make: Callable[[], Awaitable[V]]) -> V:
        if key in self._values:
            return self._values[key]
        async with self._locks.setdefault(key, asyncio.Lock()):
            if key not in self._values:
                self._values[key] = await make()
            return self._values[key]

    def forget(self, key: K) -> None:
        self._values.pop(key, None)


class ClusterContext:
    """This request as seen by one cluster (see the module doc)."""

    def __init__(self, request: HTTPConnection, state: AppState, cluster: Cluster) -> None:
        self.request = request
        self.state = state
        self.cluster = cluster
        self._credentials: tuple[Credentials | None, Exception | None] | None = None
        self._identity: str | None = None
        self._known: list[str] | None = None
        self._discovery: _Once[str, DiscoveryResult] = _Once()
        self._checks: _Once[Check, Decision] = _Once()
        self._rules: _Once[str, list[dict[str, object]] | None] = _Once()

    @property
    def slug(self) -> str:
        return self.cluster.slug

    @property
    def credentials(self) -> Credentials | None:
        """The request's credentials for this cluster (``None``: the kubeconfig's own).

        Raises ``NotSignedIn`` / ``ImpersonationRefused`` as ``credentials_for`` does.
        """
        if self._credentials is None:
            try:
                self._credentials = (auth.credentials_for(self.request, self.cluster), None)
            except (auth.NotSignedIn, auth.ImpersonationRefused) as exc:
                self._credentials = (None, exc)
        creds, refusal = self._credentials
        if refusal is not None:
            raise refusal
        return creds

    @property
    def identity(self) -> str:
        """A stable, non-secret key of who asks (``auth.identity_key``)."""
        if self._identity is None:
            self._identity = auth.identity_key(self.request, self.cluster)
        return self._identity

    @property
    def known_namespaces(self) -> list[str]:
        """Namespaces offered when listing them is not allowed: the configured ones,
        the context's default namespace, and the ones the user typed in."""
        if self._known is None:
            self._known = known_namespaces(self.request, self.state, self.cluster)
        return list(self._known)

    def selected_namespaces(self, path_ns: str | None) -> list[str]:
        """The namespaces this page is about: the URL's, else none (= all)."""
        if path_ns:
            return [path_ns]
        return split_namespaces(self.request.query_params.get("namespaces", ""))

    @property
    def remembered_namespaces(self) -> list[str]:
        """The namespaces the chooser remembered for this cluster (its cookie)."""
        return cookie_list(self.request, NS_COOKIE + self.cluster.slug)

    async def discovery(self) -> DiscoveryResult:
        """The cluster's discovery (itself cached per cluster), asked once per request."""
        return await self._discovery.get("", lambda: self.cluster.discovery.get(self.credentials))

    async def resolve(self, resource: str) -> ResourceType:
        """The kind named in a URL; an unknown name goes to ``Discovery.resolve``,
        which refetches once before saying it is unknown (new CRDs)."""
        rt = (await self.discovery()).lookup(resource)
        if rt is not None:
            return rt
        self._discovery.forget("")
        return await self.cluster.discovery.resolve(resource, self.credentials)

    async def can(self, check: Check) -> Decision:
        """May this request's user do ``check``? For hiding or disabling actions only:
        the API server enforces every request itself."""
        return await self._checks.get(check, lambda: self._review(check))

    async def _review(self, check: Check) -> Decision:
        try:
            creds = self.credentials
        except (auth.NotSignedIn, auth.ImpersonationRefused) as exc:
            return Decision(False, exc.message)
        return await self.state.access.can(self.cluster, creds, self.identity, check)

    async def can_all(self, checks: list[Check]) -> list[Decision]:
        """Several checks at once, concurrently."""
        return list(await asyncio.gather(*(self.can(c) for c in checks)))

    async def permissions(self, checks: Mapping[str, Check]) -> dict[str, Decision]:
        """Several named checks at once, e.g. ``{"edit": Check("patch", "deployments",
        "apps", ns)}``; templates read ``allowed``/``reason`` (see ``_can.html``)."""
        names = list(checks)
        decisions = await self.can_all([checks[n] for n in names])
        return dict(zip(names, decisions, strict=True))

    async def resource_rules(self, namespace: str) -> list[dict[str, object]] | None:
        """SelfSubjectRulesReview's resource rules in ``namespace`` (None if it failed)."""

        async def review() -> list[dict[str, object]] | None:
            return await self.state.access.resource_rules(
                self.cluster, self.credentials, self.identity, namespace
            )

        return await self._rules.get(namespace, review)


class RequestContext:
    """Everything one request works out about itself once (see the module doc)."""

    def __init__(self, request: HTTPConnection, state: AppState) -> None:
        self.request = request
        self.state = state
        self._clusters: dict[str, ClusterContext] = {}

    @property
    def auth(self) -> RequestAuth | None:
        """Who the request is (what AuthMiddleware learned; None outside the app)."""
        return auth.request_auth(self.request)

    def for_cluster(self, cluster: Cluster) -> ClusterContext:
        ctx = self._clusters.get(cluster.slug)
        if ctx is None or ctx.cluster is not cluster:
            ctx = self._clusters[cluster.slug] = ClusterContext(self.request, self.state, cluster)
        return ctx

    def cluster(self, slug: str) -> ClusterContext:
        """A cluster by URL name (``UnknownCluster`` if there is none)."""
        return self.for_cluster(self.state.clusters.get(slug))


def request_context(request: HTTPConnection) -> RequestContext:
    """This request's context, built on first use and kept in ``request.state``."""
    ctx = getattr(request.state, _STATE_KEY, None)
    if not isinstance(ctx, RequestContext):
        ctx = RequestContext(request, app_state(request))
        setattr(request.state, _STATE_KEY, ctx)
    return ctx


def cluster_context(request: HTTPConnection, cluster: Cluster) -> ClusterContext:
    """``request_context(request).for_cluster(cluster)``."""
    return request_context(request).for_cluster(cluster)
