"""One upstream list+watch, kept in memory as Table rows and fanned out to subscribers.

The loop follows client-go's reflector:

* **List** in chunks (``limit``/``continue``) as a ``meta.k8s.io`` Table, so
  the cache holds the rows ``kubectl get`` prints plus each object's metadata
  (``managedFields`` stripped), never whole objects: 10,000 pods fit in a few
  tens of MB.
* **Watch** from the list's resourceVersion with ``allowWatchBookmarks=true``;
  bookmarks move the position forward even when nothing changes, so a
  resumed watch rarely starts from an expired resourceVersion.
* **Resume** a watch that ended (the server's timeout, a dropped connection,
  the API server restarted) from the last resourceVersion seen, after a short
  capped backoff, so a tab follows an API server within about a second of its
  return. After a broken connection one ``limit=1`` list first checks that the
  server is not *behind* our position (etcd restored or reset): a watch from
  a resourceVersion the server has not reached is accepted and then silent.
* **Relist exactly once** when the API server says the position is gone (410
  Gone, "too large resource version" after an etcd reset, or any other
  refusal of the watch): a new list replaces the store, the difference is sent
  to subscribers as ordinary changes, and watching resumes from the new
  list's resourceVersion. Never a reconnect loop on an old position.

Subscribers each get a bounded queue (``Subscription``). A tab that does not
read fast enough is told to ``Resync`` (its page reloads) instead of holding
up the others: the informer never waits for a subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from kubelantern import errors, metrics
from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import ResourceType
from kubelantern.resources.table import TABLE_ACCEPT, Column, Row, parse_table

log = logging.getLogger(__name__)

LIST_CHUNK = 500
MIN_WATCH_TIMEOUT = 300  # seconds; each watch asks for a random 1-2x this, as client-go does
BACKOFF_START = 0.1
BACKOFF_MAX = 1.0  # capped low: a tab must follow an API server within seconds of its return
BACKLOG = 2048  # recent changes kept, so a reconnecting tab replays what it missed


@dataclass(frozen=True)
class Change:
    """An object was added, modified or deleted at resourceVersion ``rv``."""

    type: str  # ADDED | MODIFIED | DELETED
    row: Row
    rv: str
    # Work the subscribers share (the web layer's rendered row, per column layout),
    # so a thousand tabs render a change once, not a thousand times.
    memo: dict[tuple[object, ...], str] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Progress:
    """Nothing changed, but the position moved (a bookmark): SSE ids can advance."""

    rv: str


@dataclass(frozen=True)
class Resync:
    """The subscriber missed changes (too slow, or resumed from too old a position)."""

    reason: str


@dataclass(frozen=True)
class Failure:
    """The informer stopped for good (e.g. its reading identity was refused)."""

    error: errors.KubelanternError


Event = Change | Progress | Resync | Failure


def row_key(row: Row) -> str:
    return f"{row.namespace or ''}/{row.name}"


def _rv_int(rv: str) -> int | None:
    return int(rv) if rv.isdigit() else None


def slim(row: Row) -> Row:
    """The row without the object's ``managedFields`` (often most of its bytes)."""
    obj = row.object
    if obj is not None:
        meta = obj.get("metadata")
        if isinstance(meta, dict) and "managedFields" in meta:
            meta = {k: v for k, v in meta.items() if k != "managedFields"}
            obj = {**obj, "metadata": meta}
            row.object = obj
    return row


class Subscription:
    """One tab's view of an informer: a bounded queue of events.

    ``put`` never blocks: on overflow the queue is replaced by one ``Resync``
    and later events are dropped, because the tab reloads its list anyway.
    """

    def __init__(self, informer: Informer, size: int) -> None:
        self.informer = informer
        self.size = size
        self._items: deque[Event] = deque()
        self._ready = asyncio.Event()
        self.overflowed = False
        self.closed = False

    def put(self, event: Event) -> None:
        if self.overflowed or self.closed:
            return
        if len(self._items) >= self.size:
            self._items.clear()
            self._items.append(Resync("this tab fell behind the changes"))
            self.overflowed = True
        else:
            self._items.append(event)
        self._ready.set()

    async def get(self) -> Event:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.informer.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Informer:
    """List+watch of one kind in one namespace scope, as one identity."""

    def __init__(
        self,
        cluster: str,
        client: ClusterClient,
        rt: ResourceType,
        namespace: str | None,
        credentials: Credentials | None,
        *,
        queue_size: int = 256,
        backlog: int = BACKLOG,
        watch_timeout: int = MIN_WATCH_TIMEOUT,
    ) -> None:
        self.cluster = cluster
        self.client = client
        self.rt = rt
        self.namespace = namespace
        self.credentials = credentials
        self.queue_size = queue_size
        self.watch_timeout = watch_timeout  # each watch asks for 1-2x this many seconds
        self.rows: dict[str, Row] = {}
        self.columns: list[Column] = []
        self.rv = ""
        self.synced = asyncio.Event()
        self.error: errors.KubelanternError | None = None  # set when it stopped for good
        self.subscribers: set[Subscription] = set()
        self._backlog: deque[tuple[int, Change]] = deque(maxlen=backlog)
        self._floor: int | None = None  # changes after this rv are all in the backlog
        self._trimmed = False  # the backlog dropped changes (it was full)
        self.lists = 0  # full lists made (1 + relists)
        self.watches = 0  # watch requests made
        self.last_used = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self.version = 0  # bumped on every change of ``rows``
        self._since_list = 0  # watch events since the last list
        self._sorted: tuple[int, list[Row]] = (-1, [])

    # ---- life cycle ---------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"informer {self.describe()}")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def describe(self) -> str:
        return f"{self.cluster}/{self.rt.name}/{self.namespace or '*'}"

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def wait_synced(self, timeout: float) -> None:
        """Wait for the first list; raise what stopped the informer, if anything did."""
        self.last_used = time.monotonic()
        if not self.synced.is_set():
            try:
                await asyncio.wait_for(self.synced.wait(), timeout)
            except TimeoutError:
                raise errors.ClusterTimeout(
                    f"listing {self.rt.name} took longer than {timeout:g} s", cluster=self.cluster
                ) from None
        if self.error is not None and not self.rows and not self.rv:
            raise self.error

    def sorted_rows(self) -> list[Row]:
        """Every row, by namespace and name (as the API server lists), computed once per change."""
        self.last_used = time.monotonic()
        if self._sorted[0] != self.version:
            rows = sorted(self.rows.values(), key=lambda r: (r.namespace or "", r.name))
            self._sorted = (self.version, rows)
        return self._sorted[1]

    # ---- subscribers ----------------------------------------------------------------

    def subscribe(self, since: str = "") -> Subscription:
        """A queue of changes after ``since`` (a resourceVersion; empty: from now)."""
        sub = Subscription(self, self.queue_size)
        self.last_used = time.monotonic()
        if self.error is not None:
            sub.put(Failure(self.error))
            return sub
        for event in self._replay(since):
            sub.put(event)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscribers.discard(sub)
        self.last_used = time.monotonic()

    def _replay(self, since: str) -> Iterable[Event]:
        if not since or since == self.rv:
            return ()
        start, floor = _rv_int(since), self._floor
        if start is None or floor is None:
            return (Resync("this page's position is not a number"),)
        if start < floor and (self.lists > 1 or self._trimmed):
            return (Resync("the list changed too much since this page was loaded"),)
        # Older than the first list of a never-relisted, never-trimmed informer: a
        # page of several namespaces carries the oldest of their positions, and this
        # informer's first list already holds every change up to its floor.
        return [change for rv, change in self._backlog if rv > start]

    def _publish(self, event: Event) -> None:
        for sub in list(self.subscribers):
            sub.put(event)

    # ---- the loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = BACKOFF_START
        need_list = True
        broken = False  # the last watch broke off: check the position before resuming
        with metrics.open_streams("apiserver-watch"):  # /metrics: upstream watches open now
            while True:
                try:
                    if broken and not need_list:
                        need_list = await self._went_back()
                    broken = False
                    if need_list:
                        await self._list()
                        need_list = False
                    await self._watch()
                    backoff = BACKOFF_START
                    continue  # the server ended the watch (its timeout): resume at once
                except (errors.Gone, _Expired) as exc:
                    log.info("%s: %s; relisting once", self.describe(), exc)
                    need_list = True
                    if self._since_list:  # a position that served events: relist now...
                        continue
                    # ...but a 410 right after a fresh list is the server's trouble: wait.
                except (errors.Unauthorized, errors.Forbidden, errors.NotFound) as exc:
                    # The reading identity may not (or no longer) list this: stop, and
                    # let every subscriber know; the manager drops this informer.
                    self._fail(exc)
                    return
                except errors.ClusterUnavailable as exc:
                    if not self.synced.is_set():
                        self._fail(exc)
                        return
                    log.debug("%s: %s; retrying", self.describe(), exc)
                    broken = True
                except errors.ApiError as exc:
                    if not self.synced.is_set():  # the first list was refused: say so
                        self._fail(exc)
                        return
                    # Any other refusal (e.g. 504 "too large resource version" after an
                    # etcd reset): the position is not trusted any more.
                    log.info("%s: watch refused (%s); relisting", self.describe(), exc.message)
                    need_list = True
                except errors.KubelanternError as exc:  # a request that cannot be made
                    self._fail(exc)
                    return
                except httpx.TransportError as exc:  # the stream broke mid-way
                    log.debug("%s: stream ended: %r; resuming", self.describe(), exc)
                    broken = True
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if not self.synced.is_set():
                        self._fail(errors.KubelanternError(f"listing failed: {exc!r}"))
                        return
                    log.warning("%s: watch failed: %r", self.describe(), exc)
                await asyncio.sleep(backoff * (1 + random.random() / 2))
                backoff = min(backoff * 2, BACKOFF_MAX)

    def _fail(self, exc: errors.KubelanternError) -> None:
        self.error = exc
        self.synced.set()
        self._publish(Failure(exc))

    async def _went_back(self) -> bool:
        """Whether the API server's position is now behind ours (etcd restored or reset).

        A watch from a resourceVersion the server has not reached yet is accepted
        and then waits for it: after an etcd reset no change would ever arrive. One
        cheap list (``limit=1``) after a broken watch tells a restart (resume)
        from a reset (relist).
        """
        response = await self.client.request(
            "GET",
            self.rt.path(self.namespace),
            params={"limit": 1},
            headers={"Accept": TABLE_ACCEPT},
            credentials=self.credentials,
            verb="list",
            resource=self.rt.name,
            namespace=self.namespace,
        )
        now = _rv_int(
            str((orjson.loads(response.content).get("metadata") or {}).get("resourceVersion") or "")
        )
        ours = _rv_int(self.rv)
        return now is not None and ours is not None and now < ours

    async def _list(self) -> None:
        """A full list in chunks; replaces the store and publishes the difference."""
        self.lists += 1
        rows: dict[str, Row] = {}
        columns: list[Column] = []
        token, rv = "", ""
        while True:
            params: dict[str, str | int | list[str]] = {"limit": LIST_CHUNK}
            if token:
                params["continue"] = token
            try:
                response = await self.client.request(
                    "GET",
                    self.rt.path(self.namespace),
                    params=params,
                    headers={"Accept": TABLE_ACCEPT},
                    credentials=self.credentials,
                    verb="list",
                    resource=self.rt.name,
                    namespace=self.namespace,
                )
            except errors.Gone:
                if not token:
                    raise
                token, rows = "", {}  # the continue token expired: list again from the start
                continue
            page = parse_table(orjson.loads(response.content))
            columns = columns or page.columns
            rv = rv or page.resource_version
            for row in page.rows:
                rows[row_key(row)] = slim(row)
            if not page.continue_token:
                break
            token = page.continue_token
        first = not self.synced.is_set()
        old = self.rows
        self.rows, self.columns, self.rv = rows, columns, rv
        self.version += 1
        self._since_list = 0
        self._backlog.clear()
        self._floor = _rv_int(rv)
        if not first:
            for key, row in old.items():
                if key not in rows:
                    self._publish(Change("DELETED", row, rv))
            for key, row in rows.items():
                before = old.get(key)
                if before is None:
                    self._publish(Change("ADDED", row, rv))
                elif _object_rv(before) != _object_rv(row):
                    self._publish(Change("MODIFIED", row, rv))
            self._publish(Progress(rv))
        self.synced.set()

    async def _watch(self) -> None:
        self.watches += 1
        timeout = int(self.watch_timeout * (1 + random.random()))
        query: dict[str, str | int | list[str]] = {
            "watch": "1",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": timeout,
            "resourceVersion": self.rv,
        }
        async with self.client.stream(
            "GET",
            self.rt.path(self.namespace),
            credentials=self.credentials,
            params=query,
            headers={"Accept": TABLE_ACCEPT},
            timeout=timeout + 30,
            verb="watch",
            resource=self.rt.name,
            namespace=self.namespace,
        ) as response:
            async for line in response.aiter_lines():
                if line.strip():
                    self._apply(orjson.loads(line))

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        obj = event.get("object") or {}
        if kind == "ERROR":
            code = int(obj.get("code") or 500)
            message = str(obj.get("message") or "watch failed")
            if code == 410:
                raise _Expired(message)
            raise errors.ApiError(message, status=code, cluster=self.cluster)
        self._since_list += 1
        rows = obj.get("rows") or []
        rv = str((obj.get("metadata") or {}).get("resourceVersion") or "")
        if not rv and rows:
            rv = str(((rows[0].get("object") or {}).get("metadata") or {}).get("resourceVersion"))
        if kind == "BOOKMARK":
            if rv:
                self.rv = rv
                self._publish(Progress(rv))
            return
        page = parse_table(obj)
        if not self.columns and page.columns:
            self.columns = page.columns
        for row in page.rows:
            row = slim(row)
            key = row_key(row)
            if kind == "DELETED":
                self.rows.pop(key, None)
            else:
                self.rows[key] = row
            self.version += 1
            self.rv = rv or self.rv
            change = Change(str(kind), row, self.rv)
            number = _rv_int(self.rv)
            if number is not None:
                if len(self._backlog) == self._backlog.maxlen:
                    self._floor = self._backlog[0][0]  # the oldest change falls out
                    self._trimmed = True
                self._backlog.append((number, change))
            self._publish(change)


class _Expired(Exception):
    """The watch's resourceVersion is gone (an ERROR event with code 410)."""


def _object_rv(row: Row) -> str:
    meta = (row.object or {}).get("metadata") or {}
    return str(meta.get("resourceVersion") or "")
