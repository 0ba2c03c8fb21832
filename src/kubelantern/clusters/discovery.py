"""API discovery: which kinds a cluster serves, cached per cluster.

Uses aggregated discovery (one request for all groups, Kubernetes 1.30+) and
falls back to the classic per-group documents for older or aggregated servers
that do not offer it. Discovery is readable by every authenticated user
(``system:discovery``), so one cache per cluster serves all users; what each
user may *do* is still decided per request by the API server.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from kubelantern import errors
from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.credentials import Credentials

AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)


def segment(value: str) -> str:
    """A namespace or object name as one path segment of an API URL.

    Names come from URLs people type. Without this, ``..`` would climb out of
    the collection (``.../configmaps/..`` is the namespace itself once the
    HTTP client normalises the path) and ``?`` or ``#`` would start a query of
    the caller's choosing. Kubernetes never names an object ``.`` or ``..``.
    """
    if value in (".", ".."):
        raise errors.BadRequest(f"{value!r} is not a valid name.")
    return quote(value, safe=":@")


@dataclass(frozen=True)
class ResourceType:
    """One kind as served: how to address it and what it supports."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = ()
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    singular: str = ""
    subresources: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The kubectl spelling used in URLs: ``pods``, ``deployments.apps``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def label(self) -> str:
        """'Deployments', 'Network Policies': the kind pluralised as people say it."""
        words: list[str] = []
        for ch in self.kind:
            if ch.isupper() and words and not words[-1][-1].isupper():
                words.append(ch)
            elif words:
                words[-1] += ch
            else:
                words.append(ch)
        label = " ".join(words)
        if label.endswith("y") and not label.endswith(("ay", "ey")):
            return label[:-1] + "ies"
        if label.endswith(("s", "x", "ch")):
            return label + "es"
        return label + "s"

    @property
    def listable(self) -> bool:
        return "list" in self.verbs

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The API path of the collection or of one object."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{segment(namespace)}"
        base += f"/{self.plural}"
        if name:
            base += f"/{segment(name)}"
        return base

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "version": self.version,
            "kind": self.kind,
            "label": self.label,
            "plural": self.plural,
            "namespaced": self.namespaced,
            "verbs": list(self.verbs),
            "shortNames": list(self.short_names),
        }


@dataclass
class DiscoveryResult:
    """The kinds of one cluster, with lookup by every name kubectl accepts."""

    types: list[ResourceType] = field(default_factory=list)
    fetched_at: float = 0.0

    def __post_init__(self) -> None:
        self._index: dict[str, ResourceType] = {}
        # Preferred versions come first in discovery, so the first entry wins.
        for rt in self.types:
            keys = [rt.name, f"{rt.plural}.{rt.version}.{rt.group}" if rt.group else rt.plural]
            keys += [rt.kind.lower(), rt.singular, *rt.short_names]
            if rt.group:
                keys.append(f"{rt.kind.lower()}.{rt.group}")
                keys.append(rt.plural)  # bare plural: first (core, then apps, ...) wins
            for key in keys:
                if key:
                    self._index.setdefault(key.lower(), rt)

    def lookup(self, name: str) -> ResourceType | None:
        return self._index.get(name.lower())

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for rt in self.types:
            if rt.kind == kind and rt.group == group and rt.version == version:
                return rt
        for rt in self.types:
            if rt.kind == kind and rt.group == group:
                return rt
        return None


def _from_aggregated(doc: dict[str, Any]) -> list[ResourceType]:
    out: list[ResourceType] = []
    seen: set[tuple[str, str]] = set()
    for group_doc in doc.get("items") or []:
        group = group_doc.get("metadata", {}).get("name", "")
        for version_doc in group_doc.get("versions") or []:
            version = version_doc.get("version", "")
            for res in version_doc.get("resources") or []:
                plural = res.get("resource", "")
                key = (group, plural)
                if key in seen:
                    continue  # an older version of a kind already listed
                seen.add(key)
                kind = (res.get("responseKind") or {}).get("kind", "")
                out.append(
                    ResourceType(
                        group=group,
                        version=version,
                        plural=plural,
                        kind=kind,
                        namespaced=res.get("scope") == "Namespaced",
                        verbs=tuple(res.get("verbs") or ()),
                        short_names=tuple(res.get("shortNames") or ()),
                        categories=tuple(res.get("categories") or ()),
                        singular=res.get("singularResource", ""),
                        subresources=tuple(
                            s.get("subresource", "") for s in res.get("subresources") or ()
                        ),
                    )
                )
    return out


def _from_resource_list(group: str, version: str, doc: dict[str, Any]) -> list[ResourceType]:
    plain: dict[str, dict[str, Any]] = {}
    subs: dict[str, list[str]] = {}
    for res in doc.get("resources") or []:
        name = res.get("name", "")
        if "/" in name:
            parent, sub = name.split("/", 1)
            subs.setdefault(parent, []).append(sub)
        else:
            plain[name] = res
    return [
        ResourceType(
            group=group,
            version=version,
            plural=name,
            kind=res.get("kind", ""),
            namespaced=bool(res.get("namespaced")),
            verbs=tuple(res.get("verbs") or ()),
            short_names=tuple(res.get("shortNames") or ()),
            categories=tuple(res.get("categories") or ()),
            singular=res.get("singularName", ""),
            subresources=tuple(subs.get(name, ())),
        )
        for name, res in plain.items()
    ]


class Discovery:
    """Cached discovery of one cluster; refreshed after ``ttl`` or on demand."""

    def __init__(self, client: ClusterClient, ttl: float = 300.0) -> None:
        self._client = client
        self._ttl = ttl
        self._result: DiscoveryResult | None = None
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._result = None

    async def get(self, credentials: Credentials | None = None) -> DiscoveryResult:
        result = self._result
        if result is not None and time.monotonic() - result.fetched_at < self._ttl:
            return result
        async with self._lock:
            result = self._result
            if result is None or time.monotonic() - result.fetched_at >= self._ttl:
                result = await self._fetch(credentials)
                self._result = result
            return result

    async def resolve(self, name: str, credentials: Credentials | None = None) -> ResourceType:
        """The kind named in a URL; refetches once before saying it is unknown (new CRDs)."""
        result = await self.get(credentials)
        rt = result.lookup(name)
        if rt is None and time.monotonic() - result.fetched_at > 2.0:
            self.invalidate()
            rt = (await self.get(credentials)).lookup(name)
        if rt is None:
            raise errors.UnknownResource(
                f"cluster {self._client.name} serves no kind named {name!r}",
                cluster=self._client.name,
            )
        return rt

    async def _fetch(self, credentials: Credentials | None) -> DiscoveryResult:
        types: list[ResourceType] = []
        headers = {"Accept": AGGREGATED_ACCEPT}
        core = await self._client.json("GET", "/api", headers=headers, credentials=credentials)
        if core.get("kind") == "APIGroupDiscoveryList":
            types += _from_aggregated(core)
            apis = await self._client.json("GET", "/apis", headers=headers, credentials=credentials)
            types += _from_aggregated(apis)
        else:
            types += await self._fetch_legacy(credentials, core)
        return DiscoveryResult(types=types, fetched_at=time.monotonic())

    async def _fetch_legacy(
        self, credentials: Credentials | None, core: dict[str, Any]
    ) -> list[ResourceType]:
        paths: list[tuple[str, str, str]] = [
            ("", v, f"/api/{v}") for v in (core.get("versions") or ["v1"])[:1]
        ]
        groups = await self._client.json("GET", "/apis", credentials=credentials)
        for group in groups.get("groups") or []:
            pv = (group.get("preferredVersion") or {}).get("version")
            if pv:
                paths.append((group["name"], pv, f"/apis/{group['name']}/{pv}"))

        async def one(group: str, version: str, path: str) -> list[ResourceType]:
            try:
                doc = await self._client.json("GET", path, credentials=credentials)
            except errors.KubelanternError:
                return []  # one broken aggregated API must not hide the rest
            return _from_resource_list(group, version, doc)

        lists = await asyncio.gather(*(one(*p) for p in paths))
        return [rt for lst in lists for rt in lst]
