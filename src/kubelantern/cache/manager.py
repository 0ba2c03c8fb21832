"""The application's watch cache: informers by key, reading identities, idle reaping.

Key: (cluster, kind, namespace scope, reading identity). The reading identity
is whose credentials list and watch:

* kubeconfig mode (a laptop, desktop mode): the person's own kubeconfig;
* behind a sign-in proxy or OIDC, with ``watch_cache_identity=service``: the
  cluster's own credentials (in a pod, its ServiceAccount, which the operator
  grants list/watch), shared by every person the gate lets in;
* otherwise (``person``): the person's own credentials, so all of one
  person's tabs share one upstream watch, and nobody else's.

Every person passes the ``AccessGate`` first, whatever identity reads. One
``WatchCache`` belongs to the application (``AppState``): created with it,
closed in its lifespan, no module-level state.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from kubelantern import errors
from kubelantern.cache.gate import AccessGate
from kubelantern.cache.informer import Informer, Subscription
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.store import Cluster
from kubelantern.resources.table import Column, Row

IDENTITIES = ("person", "service")

InformerKey = tuple[str, str, str | None, str]


@dataclass(frozen=True)
class Reader:
    """Who asks: their credentials for this cluster and their stable, non-secret key."""

    credentials: Credentials | None
    identity: str


@dataclass(frozen=True)
class Snapshot:
    """The whole list as the cache holds it now."""

    columns: list[Column]
    rows: list[Row]  # by namespace, then name
    resource_version: str


class WatchCache:
    """Shared informers for every person and tab of this process."""

    def __init__(
        self,
        *,
        read_identity: str = "person",
        idle_grace: float = 60.0,
        gate_ttl: float = 30.0,
        queue_size: int = 256,
        sync_timeout: float = 30.0,
    ) -> None:
        if read_identity not in IDENTITIES:
            raise ValueError(f"watch cache identity must be one of {', '.join(IDENTITIES)}")
        self.read_identity = read_identity
        self.idle_grace = idle_grace
        self.queue_size = queue_size
        self.sync_timeout = sync_timeout
        self.gate = AccessGate(gate_ttl)
        self.informers: dict[InformerKey, Informer] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False

    def reading(self, cluster: Cluster, reader: Reader) -> tuple[Credentials | None, str]:
        """The credentials the cache lists and watches with, and their key."""
        if cluster.auth_mode != "kubeconfig" and self.read_identity == "service":
            return cluster.client.own_credentials, f"service:{cluster.slug}"
        return reader.credentials, reader.identity

    async def informer(
        self, cluster: Cluster, rt: ResourceType, namespace: str | None, reader: Reader
    ) -> Informer | None:
        """The running informer this person may be served from; None: go upstream."""
        if self._closed or "watch" not in rt.verbs or "list" not in rt.verbs:
            return None
        scope = namespace if rt.namespaced else None
        allowed = await self.gate.allows(
            cluster.slug, cluster.client, rt, scope, reader.credentials, reader.identity
        )
        if not allowed:
            return None
        credentials, who = self.reading(cluster, reader)
        key: InformerKey = (cluster.slug, rt.name, scope, who)
        informer = self.informers.get(key)
        if informer is not None and (
            informer.error is not None or informer.client is not cluster.client
        ):
            del self.informers[key]
            await informer.stop()
            informer = self.informers.get(key)
        if informer is None:
            informer = Informer(
                cluster.slug,
                cluster.client,
                rt,
                scope,
                credentials,
                queue_size=self.queue_size,
            )
            self.informers[key] = informer
            informer.start()
        self._ensure_reaper()
        return informer

    async def still_allowed(
        self, cluster: Cluster, rt: ResourceType, namespace: str | None, reader: Reader
    ) -> bool:
        """Whether the person may still list and watch (asked again once the answer expired).

        Long-lived subscribers call this every ``gate.ttl`` seconds, so a removed
        RoleBinding ends their live stream as it would end their page requests.
        """
        scope = namespace if rt.namespaced else None
        return await self.gate.allows(
            cluster.slug, cluster.client, rt, scope, reader.credentials, reader.identity
        )

    async def snapshot(
        self, cluster: Cluster, rt: ResourceType, namespace: str | None, reader: Reader
    ) -> Snapshot | None:
        """Every row of the list, once the first list is in; None: not from the cache."""
        informer = await self._synced(cluster, rt, namespace, reader)
        if informer is None:
            return None
        return Snapshot(list(informer.columns), informer.sorted_rows(), informer.rv)

    async def subscribe(
        self,
        cluster: Cluster,
        rt: ResourceType,
        namespace: str | None,
        reader: Reader,
        since: str = "",
    ) -> Subscription | None:
        """Changes after ``since``, for as long as the subscription is open."""
        informer = await self._synced(cluster, rt, namespace, reader)
        if informer is None:
            return None
        return informer.subscribe(since)

    async def _synced(
        self, cluster: Cluster, rt: ResourceType, namespace: str | None, reader: Reader
    ) -> Informer | None:
        informer = await self.informer(cluster, rt, namespace, reader)
        if informer is None:
            return None
        try:
            await informer.wait_synced(self.sync_timeout)
        except (errors.Unauthorized, errors.Forbidden):
            # The reading identity may not list this although the person may: the
            # person's own request upstream gives the authoritative answer.
            return None
        return informer

    def upstream_watches(self) -> int:
        """Informers running now: each holds at most one upstream watch."""
        return sum(1 for informer in self.informers.values() if informer.running)

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.create_task(self._reap(), name="watch cache reaper")

    async def _reap(self) -> None:
        """Close informers nobody subscribes to or read for ``idle_grace`` seconds."""
        while self.informers:
            await asyncio.sleep(max(min(self.idle_grace / 4, 5.0), 0.05))
            now = time.monotonic()
            for key, informer in list(self.informers.items()):
                idle = not informer.subscribers and now - informer.last_used > self.idle_grace
                if idle or informer.error is not None:
                    if self.informers.get(key) is informer:
                        del self.informers[key]
                    await informer.stop()

    async def aclose(self) -> None:
        self._closed = True
        reaper, self._reaper = self._reaper, None
        if reaper is not None:
            reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reaper
        informers = list(self.informers.values())
        self.informers.clear()
        await asyncio.gather(*(informer.stop() for informer in informers))
