"""Every write, logged as one structured line and kept for the person's activity panel.

The log line goes to the ``kubelantern.audit`` logger with its fields as
``extra`` (the JSON log format prints them as keys): user, identity, cluster,
verb, resource, namespace, object, result, status, request id. Refusals and
failures are written too: an audit trail that only shows successes hides the
attempts that matter.

*Who* is the user name the API server sees (a SelfSubjectReview, cached per
identity), not what a header claimed, so impersonation and OIDC prefixes show
up as RBAC applies them.

The activity panel needs recent entries per person, but sessions are
stateless cookies and there is no database: entries live in a bounded
in-memory map keyed by (cluster, ``identity_key``), at most ``PER_IDENTITY``
entries each and ``MAX_IDENTITIES`` identities (least recently written out
first). They are lost on restart and are per replica; the log is the record.
Dry runs change nothing and are not audited.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection, Request

from kubelantern import errors
from kubelantern.auth import credentials_for, identity_key
from kubelantern.auth.access import self_review
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.store import Cluster

audit_log = logging.getLogger("kubelantern.audit")

PER_IDENTITY = 50
MAX_IDENTITIES = 10_000
WHOAMI_TTL = 300.0


@dataclass(frozen=True)
class Entry:
    """One write attempt, as the activity panel and the JSON twin show it."""

    time: str
    user: str
    cluster: str
    verb: str
    resource: str
    namespace: str | None
    name: str | None
    result: str  # ok | refused | failed
    status: int
    message: str = ""
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "user": self.user,
            "cluster": self.cluster,
            "verb": self.verb,
            "resource": self.resource,
            "namespace": self.namespace,
            "name": self.name,
            "result": self.result,
            "status": self.status,
            "message": self.message,
            "url": self.url,
        }


class ActivityStore:
    """Recent entries per (cluster, identity), bounded in both directions."""

    def __init__(self, per_identity: int = PER_IDENTITY, identities: int = MAX_IDENTITIES) -> None:
        self.per_identity = per_identity
        self.identities = identities
        self._entries: OrderedDict[tuple[str, str], deque[Entry]] = OrderedDict()

    def add(self, cluster: str, identity: str, entry: Entry) -> None:
        key = (cluster, identity)
        entries = self._entries.pop(key, None) or deque(maxlen=self.per_identity)
        entries.append(entry)
        self._entries[key] = entries
        while len(self._entries) > self.identities:
            self._entries.popitem(last=False)

    def recent(self, keys: Iterable[tuple[str, str]], limit: int = PER_IDENTITY) -> list[Entry]:
        """Newest first, over several (cluster, identity) keys."""
        merged = [e for key in keys for e in self._entries.get(key, ())]
        merged.sort(key=lambda e: e.time, reverse=True)
        return merged[:limit]

    def clear(self) -> None:
        self._entries.clear()


class WhoamiCache:
    """User names the API server gave each (cluster, identity), for ``WHOAMI_TTL`` s."""

    def __init__(self, ttl: float = WHOAMI_TTL, max_entries: int = MAX_IDENTITIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._names: dict[tuple[str, str], tuple[float, str]] = {}

    async def whoami(self, cluster: Cluster, credentials: Credentials | None, identity: str) -> str:
        """The user name the API server gives these credentials (SelfSubjectReview)."""
        key = (cluster.slug, identity)
        now = time.monotonic()
        hit = self._names.get(key)
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        try:
            user = str((await self_review(cluster, credentials))["user"] or identity)
        except errors.KubelanternError:
            return identity  # not cached: the next write tries again
        if len(self._names) > self.max_entries:
            self._names.clear()
        self._names[key] = (now, user)
        return user

    def clear(self) -> None:
        self._names.clear()


def result_of(exc: Exception | None) -> tuple[str, int, str]:
    if exc is None:
        return "ok", 200, ""
    if isinstance(exc, errors.KubelanternError):
        refused = exc.status in (401, 403)
        return ("refused" if refused else "failed"), exc.status, exc.message
    return "failed", 500, type(exc).__name__


@dataclass
class Note:
    """What a write reports about itself when it succeeds."""

    message: str = ""
    status: int = 200
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Audit:
    """This app's audit: the activity panel's entries and the names behind identities.

    One per app (``AppState.audit``); the log lines go to the process's logger.
    """

    def __init__(self) -> None:
        self.activity = ActivityStore()
        self.names = WhoamiCache()

    async def record(
        self,
        request: HTTPConnection,
        cluster: Cluster,
        *,
        verb: str,
        resource: str,
        namespace: str | None,
        name: str | None,
        result: str,
        status: int,
        message: str = "",
        url: str | None = None,
    ) -> Entry:
        """Log one write (or shell session) and keep it for the person's activity panel.

        Takes any connection, so the terminal's WebSocket records its sessions too.
        """
        creds = credentials_for(request, cluster)
        identity = identity_key(request, cluster)
        user = await self.names.whoami(cluster, creds, identity)
        entry = Entry(
            time=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            user=user,
            cluster=cluster.slug,
            verb=verb,
            resource=resource,
            namespace=namespace,
            name=name,
            result=result,
            status=status,
            message=message[:500],
            url=url,
        )
        target = f"{namespace}/{name}" if namespace and name else (name or namespace or "-")
        audit_log.log(
            logging.INFO if result == "ok" else logging.WARNING,
            "%s %s %s %s in cluster %s: %s (%d)%s",
            user,
            verb,
            resource,
            target,
            cluster.slug,
            result,
            status,
            f": {entry.message}" if entry.message else "",
            extra={
                "user": user,
                "identity": identity,
                "cluster": cluster.slug,
                "verb": verb,
                "resource": resource,
                "namespace": namespace,
                "object": name,
                "result": result,
                "status": status,
                "detail": entry.message,
                "request_id": (request.scope.get("state") or {}).get("request_id"),
            },
        )
        self.activity.add(cluster.slug, identity, entry)
        return entry

    @asynccontextmanager
    async def audited(
        self,
        request: Request,
        cluster: Cluster,
        *,
        verb: str,
        resource: str,
        namespace: str | None,
        name: str | None,
        dry_run: bool = False,
    ) -> AsyncIterator[Note]:
        """Record the write done in the ``async with`` body: ok, or refused/failed and re-raise."""
        note = Note()
        if dry_run:
            yield note
            return
        write = functools.partial(
            self.record,
            request,
            cluster,
            verb=verb,
            resource=resource,
            namespace=namespace,
            name=name,
        )
        try:
            yield note
        except Exception as exc:
            result, status, message = result_of(exc)
            await write(result=result, status=status, message=message)
            raise
        await write(
            result="ok",
            status=note.status,
            message=note.message,
            url=note.url,
        )

    def recent_for(
        self, request: Request, clusters: Iterable[Cluster], limit: int = PER_IDENTITY
    ) -> list[Entry]:
        """The person's recent writes in every cluster (their identity may differ per cluster)."""
        keys = [(c.slug, identity_key(request, c)) for c in clusters]
        return self.activity.recent(keys, limit)
