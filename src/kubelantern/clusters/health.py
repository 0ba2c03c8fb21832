"""Each cluster's health, checked in the background so pages never wait for it.

A probe is ``GET /version`` with a short timeout. A cluster that fails is
retried with backoff (2 s doubling to 60 s), and remembers since when it has
been unreachable; the first success brings it back. The clusters page and the
chooser read this state instead of probing on every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

from kubelantern import errors
from kubelantern.clusters.client import ClusterClient

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 5.0
HEALTHY_INTERVAL = 30.0
MIN_BACKOFF = 2.0
MAX_BACKOFF = 60.0


@dataclass
class Health:
    reachable: bool | None = None  # None: not probed yet
    version: str | None = None
    latency_ms: float | None = None
    error: str | None = None
    since: str | None = None  # when the current state began (ISO 8601)
    checked: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "reachable": self.reachable,
            "version": self.version,
            "latencyMs": self.latency_ms,
            "error": self.error,
            "since": self.since,
            "checked": self.checked,
        }


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def probe(client: ClusterClient, health: Health) -> Health:
    """One check with the cluster's own credentials; updates and returns ``health``."""
    start = time.monotonic()
    version: str | None = None
    error: str | None = None
    try:
        doc = await client.json("GET", "/version", timeout=PROBE_TIMEOUT)
    except errors.ApiError as exc:  # it answered: reachable, whatever it thinks of us
        reachable, error = True, exc.message
    except errors.KubelanternError as exc:
        reachable, error = False, exc.message
    except Exception as exc:  # never let one cluster's surprise end its health loop
        log.exception("health probe of cluster %s failed", client.name)
        reachable, error = False, f"{type(exc).__name__}: {exc}"
    else:
        reachable, version = True, str(doc.get("gitVersion") or "")
    if reachable != health.reachable:
        health.since = _now()
        if health.reachable is not None:
            log.warning(
                "cluster %s is %s",
                client.name,
                "reachable again" if reachable else "unreachable",
                extra={"cluster": client.name, "reachable": reachable},
            )
    health.reachable = reachable
    health.version = version or health.version
    health.error = error
    health.latency_ms = round((time.monotonic() - start) * 1000, 1)
    health.checked = _now()
    return health


class HealthMonitor:
    """Background probes of every cluster; start on app startup, stop on shutdown."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.state: dict[str, Health] = {}
        self._wake: dict[str, asyncio.Event] = {}

    def health(self, slug: str) -> Health:
        return self.state.setdefault(slug, Health())

    def watch(self, slug: str, client: ClusterClient) -> None:
        if slug in self._tasks:
            return
        self._wake[slug] = asyncio.Event()
        self._tasks[slug] = asyncio.create_task(self._loop(slug, client))

    def forget(self, slug: str) -> None:
        task = self._tasks.pop(slug, None)
        if task:
            task.cancel()
        self.state.pop(slug, None)
        self._wake.pop(slug, None)

    def retry_now(self, slug: str) -> None:
        """Probe again at once (a user pressed Retry)."""
        if slug in self._wake:
            self._wake[slug].set()

    async def _loop(self, slug: str, client: ClusterClient) -> None:
        backoff = MIN_BACKOFF
        while True:
            health = await probe(client, self.health(slug))
            if health.reachable:
                backoff = MIN_BACKOFF
                delay = HEALTHY_INTERVAL
            else:
                delay = backoff
                backoff = min(backoff * 2, MAX_BACKOFF)
            wake = self._wake[slug]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), delay)
            wake.clear()

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
