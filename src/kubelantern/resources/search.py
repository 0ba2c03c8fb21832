"""Find kinds and objects by name, for the command palette and global search.

Object names are indexed per cluster and identity for a short time, from
metadata-only lists of the kinds people look for most (and every custom kind),
so typing in the palette costs one round of lists every ``INDEX_TTL`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from kubelantern import errors, urls
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.store import Cluster
from kubelantern.resources.kinds import BUILTIN_GROUPS, build_sidebar

INDEX_TTL = 20.0
PER_KIND_LIMIT = 5000
METADATA_ACCEPT = (
    "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"
)
SEARCHED = (
    "pods",
    "deployments.apps",
    "statefulsets.apps",
    "daemonsets.apps",
    "replicasets.apps",
    "jobs.batch",
    "cronjobs.batch",
    "services",
    "ingresses.networking.k8s.io",
    "configmaps",
    "secrets",
    "persistentvolumeclaims",
    "persistentvolumes",
    "serviceaccounts",
    "nodes",
    "namespaces",
)


@dataclass(frozen=True)
class IndexedObject:
    rt: ResourceType
    name: str
    namespace: str | None


class ObjectIndex:
    """Object names per (cluster, identity), for ``INDEX_TTL`` s; one per app
    (``AppState.search_index``), at most ``max_entries`` identities."""

    def __init__(self, ttl: float = INDEX_TTL, max_entries: int = 1000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._index: dict[tuple[str, str], tuple[float, list[IndexedObject]]] = {}

    def __len__(self) -> int:
        return len(self._index)

    async def objects(
        self,
        cluster: Cluster,
        credentials: Credentials | None,
        identity: str,
        namespaces: list[str],
    ) -> list[IndexedObject]:
        key = (cluster.slug, identity)
        hit = self._index.get(key)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        objects = await object_index(cluster, credentials, namespaces)
        if len(self._index) > self.max_entries:
            self._index.clear()
        self._index[key] = (time.monotonic(), objects)
        return objects


def _rank(text: str, needle: str) -> int | None:
    t = text.lower()
    if t == needle:
        return 0
    if t.startswith(needle):
        return 1
    if needle in t:
        return 2
    return None


async def _list_names(
    cluster: Cluster,
    credentials: Credentials | None,
    rt: ResourceType,
    namespaces: list[str],
) -> list[IndexedObject]:
    async def one(ns: str | None) -> list[IndexedObject]:
        doc = await cluster.client.json(
            "GET",
            rt.path(ns),
            credentials=credentials,
            headers={"Accept": METADATA_ACCEPT},
            params={"limit": PER_KIND_LIMIT},
            timeout=10.0,
        )
        out = []
        for item in doc.get("items") or []:
            meta = item.get("metadata") or {}
            out.append(IndexedObject(rt, meta.get("name", ""), meta.get("namespace")))
        return out

    try:
        return await one(None)
    except errors.Forbidden:
        if not rt.namespaced or not namespaces:
            return []
    results = await asyncio.gather(*(one(ns) for ns in namespaces), return_exceptions=True)
    return [o for r in results if isinstance(r, list) for o in r]


async def object_index(
    cluster: Cluster,
    credentials: Credentials | None,
    namespaces: list[str],
) -> list[IndexedObject]:
    """The names of every object these credentials can list, uncached."""
    discovery = await cluster.discovery.get(credentials)
    kinds = [rt for name in SEARCHED if (rt := discovery.lookup(name)) and rt.listable]
    kinds += [rt for rt in discovery.types if rt.listable and rt.group not in BUILTIN_GROUPS]
    lists = await asyncio.gather(
        *(_list_names(cluster, credentials, rt, namespaces) for rt in kinds),
        return_exceptions=True,
    )
    return [o for lst in lists if isinstance(lst, list) for o in lst]


async def search(
    index: ObjectIndex,
    cluster: Cluster,
    credentials: Credentials | None,
    identity: str,
    query: str,
    *,
    namespaces: list[str],
    limit: int = 40,
) -> list[dict[str, Any]]:
    """Kinds first, then objects, best match first."""
    needle = query.strip().lower()
    discovery = await cluster.discovery.get(credentials)  # cached per cluster
    kinds: list[tuple[int, dict[str, Any]]] = []
    for section in build_sidebar(discovery):
        for entry in section.entries:
            rt = entry.rt
            names = [entry.label, rt.kind, rt.plural, rt.name, *rt.short_names]
            ranks = [r for n in names if (r := _rank(n, needle)) is not None] if needle else [3]
            if ranks:
                hit = {
                    "type": "kind",
                    "label": entry.label,
                    "detail": f"{section.title} · {rt.name}",
                    "url": urls.list_url(cluster, rt),
                    "cluster": cluster.slug,
                }
                kinds.append((min(ranks), hit))
    kinds.sort(key=lambda x: x[0])
    results = [h for _, h in kinds[: (8 if needle else 12)]]
    if needle:
        objects = await index.objects(cluster, credentials, identity, namespaces)
        found: list[tuple[int, str, dict[str, Any]]] = []
        for obj in objects:
            rank = _rank(obj.name, needle)
            if rank is None:
                continue
            where = f" in {obj.namespace}" if obj.namespace else ""
            found.append(
                (
                    rank,
                    obj.name,
                    {
                        "type": "object",
                        "label": obj.name,
                        "detail": f"{obj.rt.kind}{where}",
                        "url": urls.object_url(cluster, obj.rt, obj.namespace, obj.name),
                        "cluster": cluster.slug,
                        "kind": obj.rt.name,
                        "namespace": obj.namespace,
                    },
                )
            )
        found.sort(key=lambda x: (x[0], x[1]))
        results += [h for _, _, h in found[: limit - len(results)]]
    return results[:limit]
