"""Container logs from the API server: one pod, or every pod of a workload, merged.

``GET /api/v1/namespaces/{ns}/pods/{pod}/log`` answers plain text, chunked
while following. Lines are passed on as they arrive (see ``lines.py``), each
source feeds a small bounded queue, and the consumer reads whichever source
has a line first, so a quiet pod never holds back a chatty one. Closing the
consumer cancels every source, which closes its upstream response.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from kubelantern import errors
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import ResourceType, segment
from kubelantern.clusters.store import Cluster
from kubelantern.resources.relations import selector_string
from kubelantern.streams.lines import split_lines
from kubelantern.streams.tasks import Closing

DEFAULT_TAIL = 500
MAX_TAIL = 100_000
MAX_SOURCES = 20
"""kubectl follows at most 5 pods (--max-log-requests); a browser tab may watch 20."""
REDISCOVER_EVERY = 5.0  # seconds between looks for new pods of a followed workload
QUEUE_SIZE = 256
DOWNLOAD_LIMIT = 64 * 1024 * 1024
"""limitBytes of a download, per container: a runaway log cannot fill a disk by accident."""

WORKLOADS = frozenset(
    {
        "deployments.apps",
        "statefulsets.apps",
        "daemonsets.apps",
        "replicasets.apps",
        "jobs.batch",
        "replicationcontrollers",
    }
)
"""Kinds whose pods are found through ``spec.selector``."""

Obj = dict[str, Any]


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


def _int(q: Mapping[str, str], key: str, *, low: int, high: int) -> int | None:
    raw = (q.get(key) or "").strip()
    if not raw or raw == "all":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise errors.BadRequest(f"{key} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise errors.BadRequest(f"{key} must be between {low} and {high}")
    return value


@dataclass(frozen=True)
class LogOptions:
    """What part of a log to show; the names mirror the API's PodLogOptions."""

    container: str = ""
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = DEFAULT_TAIL
    since_seconds: int | None = None
    since_time: str = ""
    limit_bytes: int | None = None
    follow: bool = False

    @classmethod
    def from_query(cls, q: Mapping[str, str], *, follow: bool | None = None) -> LogOptions:
        """Parse the page's query string; bad values are a clear 400, not an API error."""
        since_time = (q.get("sinceTime") or "").strip()
        if since_time:
            try:
                dt.datetime.fromisoformat(since_time.replace("Z", "+00:00"))
            except ValueError:
                raise errors.BadRequest(
                    f"sinceTime must be an RFC 3339 time like 2026-01-02T15:04:05Z, "
                    f"not {since_time!r}"
                ) from None
        tail = q.get("tailLines")
        return cls(
            container=(q.get("container") or "").strip(),
            previous=_flag(q.get("previous")),
            timestamps=_flag(q.get("timestamps")),
            tail_lines=DEFAULT_TAIL if tail is None else _int(q, "tailLines", low=0, high=MAX_TAIL),
            since_seconds=_int(q, "sinceSeconds", low=1, high=10 * 365 * 86400),
            since_time=since_time,
            limit_bytes=_int(q, "limitBytes", low=1, high=DOWNLOAD_LIMIT),
            follow=_flag(q.get("follow")) if follow is None else follow,
        )

    def api_params(self, container: str) -> dict[str, str]:
        """Query parameters of the API server's log request."""
        params = {"container": container} if container else {}
        if self.previous:
            params["previous"] = "true"
        if self.timestamps:
            params["timestamps"] = "true"
        if self.tail_lines is not None:
            params["tailLines"] = str(self.tail_lines)
        if self.since_seconds is not None:
            params["sinceSeconds"] = str(self.since_seconds)
        elif self.since_time:
            params["sinceTime"] = self.since_time
        if self.limit_bytes is not None:
            params["limitBytes"] = str(self.limit_bytes)
        if self.follow:
            params["follow"] = "true"
        return params

    def query(self) -> dict[str, str]:
        """The same options as this app's query string (the page's permalink)."""
        out = self.api_params(self.container)
        out.pop("limitBytes", None)
        out.pop("follow", None)
        if self.tail_lines is None:
            out["tailLines"] = "all"
        if self.follow:
            out["follow"] = "1"
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "container": self.container,
            "previous": self.previous,
            "timestamps": self.timestamps,
            "tailLines": self.tail_lines,
            "sinceSeconds": self.since_seconds,
            "sinceTime": self.since_time,
            "follow": self.follow,
        }


@dataclass(frozen=True)
class Source:
    """One container of one pod whose log is read."""

    pod: str
    container: str

    @property
    def label(self) -> str:
        return f"{self.pod}/{self.container}"


@dataclass(frozen=True)
class NewSource:
    """A source that appeared while following (a rollout or scale-up made a pod)."""

    source: Source


@dataclass(frozen=True)
class Line:
    text: str
    source: Source


@dataclass(frozen=True)
class Notice:
    """Something the reader should know about one source: it ended or failed."""

    level: str  # "info" | "error"
    message: str
    source: Source
    status: int = 0


Event = Line | Notice | NewSource


def log_path(namespace: str, pod: str) -> str:
    return f"/api/v1/namespaces/{segment(namespace)}/pods/{segment(pod)}/log"


# --- pods and containers -----------------------------------------------------


def containers(pod: Obj) -> list[Obj]:
    """Every container of a pod (init, app, ephemeral) with what the picker shows."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    states: dict[str, Obj] = {}
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        for cs in status.get(key) or []:
            states[cs.get("name", "")] = cs
    out: list[Obj] = []
    for key, kind in (
        ("initContainers", "init"),
        ("containers", "app"),
        ("ephemeralContainers", "ephemeral"),
    ):
        for c in spec.get(key) or []:
            name = c.get("name", "")
            cs = states.get(name) or {}
            state = next(iter(cs.get("state") or {}), "waiting")
            out.append(
                {
                    "name": name,
                    "kind": kind,
                    "image": c.get("image", ""),
                    "state": state,
                    "ready": bool(cs.get("ready")),
                    "restarts": int(cs.get("restartCount") or 0),
                    "hasPrevious": bool((cs.get("lastState") or {}).get("terminated")),
                    "tty": bool(c.get("tty")),
                    "stdin": bool(c.get("stdin")),
                }
            )
    return out


def default_container(pod: Obj) -> str:
    """What kubectl picks: the default-container annotation, else the first app container."""
    meta = pod.get("metadata") or {}
    names = [c["name"] for c in containers(pod)]
    chosen = (meta.get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
    if chosen and chosen in names:
        return str(chosen)
    app = (pod.get("spec") or {}).get("containers") or []
    return str(app[0].get("name", "")) if app else (names[0] if names else "")


async def get_pod(
    cluster: Cluster, credentials: Credentials | None, namespace: str, name: str
) -> Obj:
    return await cluster.client.json(
        "GET",
        f"/api/v1/namespaces/{segment(namespace)}/pods/{segment(name)}",
        credentials=credentials,
        verb="get",
        resource="pods",
        namespace=namespace,
    )


async def workload_pods(
    cluster: Cluster,
    credentials: Credentials | None,
    rt: ResourceType,
    namespace: str,
    name: str,
) -> tuple[Obj, list[Obj]]:
    """The workload and the pods its selector picks, by name."""
    if rt.name not in WORKLOADS:
        raise errors.BadRequest(
            f"{rt.name} has no pods of its own; logs are shown for pods and for "
            + ", ".join(sorted(WORKLOADS)),
            cluster=cluster.slug,
        )
    obj = await cluster.client.json(
        "GET",
        rt.path(namespace, name),
        credentials=credentials,
        verb="get",
        resource=rt.name,
        namespace=namespace,
    )
    raw = (obj.get("spec") or {}).get("selector")
    if isinstance(raw, dict) and not {"matchLabels", "matchExpressions"} & raw.keys():
        selector = ",".join(f"{k}={v}" for k, v in raw.items()) or None
    else:
        selector = selector_string(raw)
    if not selector:
        return obj, []
    doc = await cluster.client.json(
        "GET",
        f"/api/v1/namespaces/{segment(namespace)}/pods",
        credentials=credentials,
        params={"labelSelector": selector, "limit": 500},
        verb="list",
        resource="pods",
        namespace=namespace,
    )
    pods = sorted(doc.get("items") or [], key=lambda p: p["metadata"]["name"])
    return obj, pods


def workload_sources(pods: list[Obj], container: str) -> list[Source]:
    """One source per pod: the chosen container where the pod has it, else its default."""
    out = []
    for pod in pods:
        names = {c["name"] for c in containers(pod)}
        chosen = container if container in names else default_container(pod)
        if chosen:
            out.append(Source(pod["metadata"]["name"], chosen))
    return out


# --- reading -------------------------------------------------------------------


@asynccontextmanager
async def open_log(
    cluster: Cluster,
    credentials: Credentials | None,
    namespace: str,
    source: Source,
    options: LogOptions,
) -> AsyncIterator[AsyncIterator[bytes]]:
    """The raw log bytes of one container; API errors are raised before the first byte."""
    async with cluster.client.stream(
        "GET",
        log_path(namespace, source.pod),
        credentials=credentials,
        params=options.api_params(source.container),
        # A followed log may be quiet for hours: no read timeout then.
        timeout=None if options.follow else cluster.client.timeout,
        verb="get",
        resource="pods/log",
        namespace=namespace,
    ) as response:
        yield response.aiter_bytes()


async def _discover_new(
    discover: Callable[[], Awaitable[list[Source]]], known: set[Source]
) -> list[Source]:
    """Sources not read yet; a failed lookup just waits for the next round."""
    try:
        found = await discover()
    except errors.KubelanternError:
        return []
    room = max(0, MAX_SOURCES - len(known))
    return [s for s in found if s not in known][:room]


class _Done:
    """A source's task has put its last item."""


_DONE = _Done()


async def read_sources(
    cluster: Cluster,
    credentials: Credentials | None,
    namespace: str,
    sources: list[Source],
    options: LogOptions,
    *,
    closing: Closing,
    queue_size: int = QUEUE_SIZE,
    idle: float | None = None,
    discover: Callable[[], Awaitable[list[Source]]] | None = None,
    every: float = REDISCOVER_EVERY,
) -> AsyncIterator[list[Event]]:
    """Lines of every source as they arrive, then one Notice per source when it ends.

    One task per source feeds a bounded queue: a slow reader makes the tasks
    wait (TCP back pressure to the API server) instead of buffering. Leaving
    the loop early (the browser went away) cancels the tasks, and each one
    closes its upstream response on the way out.

    Whatever is already queued comes as one batch (at most ``queue_size``
    events), so a fast log costs one write to the browser per batch instead
    of one per line. With ``idle``, an empty batch is yielded after that many
    quiet seconds, so the caller can send a heartbeat.

    With ``discover`` (following a workload), the sources are looked up again
    every ``every`` seconds; each new one (a pod made by a rollout or a
    scale-up) is announced as a NewSource and read from then on, up to
    ``MAX_SOURCES`` in all.
    """
    queue: asyncio.Queue[Event | _Done] = asyncio.Queue(queue_size)

    async def pump(source: Source) -> None:
        end: Notice
        try:
            async with open_log(cluster, credentials, namespace, source, options) as chunks:
                async for text in split_lines(chunks):
                    await queue.put(Line(text, source))
        except errors.ApiError as exc:
            end = Notice("error", exc.message, source, exc.status)
        except errors.KubelanternError as exc:
            end = Notice("error", exc.message, source)
        except (httpx.HTTPError, OSError) as exc:  # the connection broke mid-stream
            end = Notice("error", f"the log stream broke: {exc or type(exc).__name__}", source)
        else:
            end = Notice("info", "end of log", source)
        await queue.put(end)
        await queue.put(_DONE)

    tasks = [asyncio.create_task(pump(s)) for s in sources]
    known = set(sources)
    loop = asyncio.get_running_loop()
    next_look = loop.time() + every
    try:
        running = len(tasks)
        while running:
            wait = idle
            if discover is not None:
                wait = max(0.0, min(idle or every, next_look - loop.time()))
            try:
                item = await (queue.get() if wait is None else asyncio.wait_for(queue.get(), wait))
            except TimeoutError:
                if discover is not None and loop.time() >= next_look:
                    next_look = loop.time() + every
                    fresh = await _discover_new(discover, known)
                    for source in fresh:
                        known.add(source)
                        tasks.append(asyncio.create_task(pump(source)))
                        running += 1
                    if fresh:
                        yield [NewSource(s) for s in fresh]
                        continue
                yield []
                continue
            batch: list[Event] = []
            while True:
                if isinstance(item, _Done):
                    running -= 1
                else:
                    batch.append(item)
                if len(batch) >= queue_size or queue.empty():
                    break
                item = queue.get_nowait()
            if batch:
                yield batch
    finally:
        await closing.stop(tasks)
