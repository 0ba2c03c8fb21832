"""Drain a node as ``kubectl drain`` does: cordon, then evict its pods politely.

Pods are evicted through the ``pods/eviction`` subresource, so the API server
enforces PodDisruptionBudgets: an eviction answered 429 is blocked by a budget
and is retried every ``RETRY_SECONDS`` until the drain's timeout. DaemonSet
pods are skipped (their controller would put them straight back, and it
tolerates the cordon) as are mirror pods (the kubelet owns them). Like kubectl,
a drain refuses to start while the node holds pods no controller would
recreate, or pods with emptyDir data, unless asked to (``force``,
``deleteEmptyDirData``).

A drain outlives the request that starts it: it runs as a task of this
process, its progress kept in memory (bounded) and polled by the page. The
progress page also reads the node and its pods live from the API server, so a
replica that did not start the drain still shows where it stands.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from kubelantern import errors
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.store import Cluster

RETRY_SECONDS = 2.0
POLL_SECONDS = 0.5
DEFAULT_TIMEOUT = 300
MAX_TIMEOUT = 3600
MAX_KEPT = 100
PARALLEL = 8
MIRROR = "kubernetes.io/config.mirror"


@dataclass
class Options:
    timeout: float = DEFAULT_TIMEOUT
    force: bool = False
    delete_emptydir_data: bool = False
    grace_period: int | None = None


@dataclass
class PodState:
    namespace: str
    name: str
    uid: str
    state: str = "pending"  # pending, evicting, blocked, evicted, gone, skipped, failed
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "state": self.state,
            "reason": self.reason,
        }


@dataclass
class Drain:
    """One drain's progress; ``status`` is running, done, blocked or failed."""

    cluster: str
    node: str
    options: Options
    status: str = "running"
    started: float = field(default_factory=time.time)
    finished: float | None = None
    pods: dict[str, PodState] = field(default_factory=dict)
    log: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    message: str = ""
    task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.status == "running"

    def say(self, line: str) -> None:
        self.log.append(f"{time.strftime('%H:%M:%S')} {line}")

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for pod in self.pods.values():
            counts[pod.state] = counts.get(pod.state, 0) + 1
        return {
            "node": self.node,
            "status": self.status,
            "message": self.message,
            "started": self.started,
            "finished": self.finished,
            "timeoutSeconds": self.options.timeout,
            "counts": counts,
            "pods": [p.to_dict() for p in self.pods.values()],
            "log": list(self.log),
        }


class Drains:
    """This app's drains: the running ones and the last ``MAX_KEPT`` finished ones.

    One per app (``AppState.drains``); ``cancel_all`` stops the running ones at
    shutdown (their nodes stay cordoned, as after a timeout).
    """

    def __init__(self, kept: int = MAX_KEPT) -> None:
        self.kept = kept
        self._drains: OrderedDict[tuple[str, str], Drain] = OrderedDict()

    def current(self, cluster: str, node: str) -> Drain | None:
        return self._drains.get((cluster, node))

    def __len__(self) -> int:
        return len(self._drains)

    def keep(self, drain: Drain) -> None:
        key = (drain.cluster, drain.node)
        self._drains.pop(key, None)
        self._drains[key] = drain
        while len(self._drains) > self.kept:
            oldest_key = next((k for k, d in self._drains.items() if not d.running), None)
            if oldest_key is None:
                break
            self._drains.pop(oldest_key)

    async def cancel_all(self) -> None:
        """Stop every running drain and wait for its task to end."""
        tasks = [d.task for d in self._drains.values() if d.task is not None and not d.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _controller(pod: dict[str, Any]) -> dict[str, Any] | None:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def _finished(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def classify(pods: list[dict[str, Any]], options: Options) -> tuple[list[PodState], list[str]]:
    """Each pod's plan (evict or skip), and the reasons not to start at all."""
    plan: list[PodState] = []
    blockers: list[str] = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        state = PodState(meta.get("namespace", ""), meta.get("name", ""), meta.get("uid", ""))
        owner = _controller(pod)
        if MIRROR in (meta.get("annotations") or {}):
            state.state, state.reason = "skipped", "mirror pod (managed by the kubelet)"
        elif owner and owner.get("kind") == "DaemonSet":
            state.state, state.reason = "skipped", f"DaemonSet {owner.get('name')}"
        elif owner is None and not _finished(pod) and not options.force:
            blockers.append(
                f"{state.namespace}/{state.name} is not managed by a controller and would be "
                "lost (drain with force to delete it)"
            )
        elif not options.delete_emptydir_data and any(
            "emptyDir" in v for v in (pod.get("spec") or {}).get("volumes") or []
        ):
            blockers.append(
                f"{state.namespace}/{state.name} has emptyDir data that would be lost "
                "(drain with deleteEmptyDirData to accept that)"
            )
        plan.append(state)
    return plan, blockers


async def pods_on(cluster: Cluster, creds: Credentials | None, node: str) -> list[dict[str, Any]]:
    doc = await cluster.client.json(
        "GET",
        "/api/v1/pods",
        credentials=creds,
        params={"fieldSelector": f"spec.nodeName={node}"},
        verb="list",
        resource="pods",
    )
    return list(doc.get("items") or [])


async def _evict(
    cluster: Cluster, creds: Credentials | None, drain: Drain, pod: PodState, deadline: float
) -> None:
    body: dict[str, Any] = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": pod.name, "namespace": pod.namespace},
    }
    if drain.options.grace_period is not None:
        body["deleteOptions"] = {"gracePeriodSeconds": drain.options.grace_period}
    pod.state = "evicting"
    while True:
        try:
            await cluster.client.post_json(
                f"/api/v1/namespaces/{pod.namespace}/pods/{pod.name}/eviction",
                body,
                credentials=creds,
                verb="create",
                resource="pods/eviction",
                namespace=pod.namespace,
            )
        except errors.NotFound:
            pod.state, pod.reason = "gone", ""
            return
        except errors.ApiError as exc:
            if exc.status != 429:
                pod.state, pod.reason = "failed", exc.message
                drain.say(f"eviction of {pod.namespace}/{pod.name} failed: {exc.message}")
                return
            if pod.state != "blocked":
                drain.say(f"{pod.namespace}/{pod.name}: {exc.message} Retrying.")
            pod.state, pod.reason = "blocked", exc.message
            if time.monotonic() + RETRY_SECONDS > deadline:
                return
            await asyncio.sleep(RETRY_SECONDS)
            continue
        pod.state, pod.reason = "evicted", ""
        drain.say(f"evicted {pod.namespace}/{pod.name}")
        return


async def _wait_gone(
    cluster: Cluster, creds: Credentials | None, drain: Drain, deadline: float
) -> None:
    """Until every evicted pod is deleted (or replaced by a new pod of the same name)."""
    while True:
        waiting = [p for p in drain.pods.values() if p.state == "evicted"]
        if not waiting:
            return
        for pod in waiting:
            try:
                live = await cluster.client.json(
                    "GET", f"/api/v1/namespaces/{pod.namespace}/pods/{pod.name}", credentials=creds
                )
            except errors.NotFound:
                pod.state = "gone"
                continue
            if (live.get("metadata") or {}).get("uid") != pod.uid:
                pod.state = "gone"
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(POLL_SECONDS)


async def _prepare(cluster: Cluster, creds: Credentials | None, drain: Drain) -> bool:
    """Cordon and plan; False if the drain must not go on. Raises what RBAC refuses."""
    await cluster.client.request(
        "PATCH",
        f"/api/v1/nodes/{drain.node}",
        credentials=creds,
        content=orjson.dumps({"spec": {"unschedulable": True}}),
        headers={"Content-Type": "application/merge-patch+json"},
        verb="patch",
        resource="nodes",
    )
    drain.say(f"cordoned {drain.node}")
    plan, blockers = classify(await pods_on(cluster, creds, drain.node), drain.options)
    drain.pods = {f"{p.namespace}/{p.name}": p for p in plan}
    if blockers:
        drain.status = "failed"
        drain.message = "Not draining (the node stays cordoned): " + "; ".join(blockers)
        drain.finished = time.time()
        drain.say(drain.message)
        return False
    return True


async def _evict_all(cluster: Cluster, creds: Credentials | None, drain: Drain) -> None:
    deadline = time.monotonic() + drain.options.timeout
    plan = list(drain.pods.values())
    todo = [p for p in plan if p.state == "pending"]
    drain.say(f"evicting {len(todo)} pods, skipping {len(plan) - len(todo)}")
    gate = asyncio.Semaphore(PARALLEL)

    async def one(pod: PodState) -> None:
        async with gate:
            await _evict(cluster, creds, drain, pod, deadline)

    await asyncio.gather(*(one(p) for p in todo))
    await _wait_gone(cluster, creds, drain, deadline)
    states = {p.state for p in drain.pods.values()}
    if "blocked" in states:
        drain.status = "blocked"
        blocked = [k for k, p in drain.pods.items() if p.state == "blocked"]
        drain.message = (
            f"Timed out after {drain.options.timeout:g} s: a PodDisruptionBudget still blocks "
            f"evicting {', '.join(blocked)}. The node stays cordoned."
        )
    elif "failed" in states:
        drain.status = "failed"
        drain.message = "Some pods could not be evicted; the node stays cordoned."
    elif "evicted" in states:
        drain.status = "failed"
        drain.message = f"Evicted pods did not go away within {drain.options.timeout:g} s."
    else:
        drain.status = "done"
        drain.message = f"Drained {drain.node}: every pod is gone except the skipped ones."
    drain.say(drain.message)


async def start(
    drains: Drains,
    cluster: Cluster,
    creds: Credentials | None,
    node: str,
    options: Options,
    on_done: Callable[[Drain], Awaitable[None]] | None = None,
) -> Drain:
    """Cordon ``node`` and plan now, then evict in the background.

    Returns the drain already running for this node instead of a second one;
    ``drains`` (the app's) keeps it, for the progress page.
    What RBAC refuses (cordon, listing pods) is raised here, before any task.
    """
    running = drains.current(cluster.slug, node)
    if running is not None and running.running:
        return running
    drain = Drain(cluster=cluster.slug, node=node, options=options)
    if not await _prepare(cluster, creds, drain):
        drains.keep(drain)
        if on_done is not None:
            await on_done(drain)
        return drain

    async def task() -> None:
        try:
            await _evict_all(cluster, creds, drain)
        except errors.KubelanternError as exc:
            drain.status, drain.message = "failed", exc.message
            drain.say(f"failed: {exc.message}")
        except Exception as exc:  # a bug must not leave the drain "running" forever
            drain.status, drain.message = "failed", f"unexpected error: {type(exc).__name__}"
            drain.say(drain.message)
            raise
        except asyncio.CancelledError:  # the app is shutting down (Drains.cancel_all)
            drain.status = "failed"
            drain.message = "Stopped: Kubelantern shut down. The node stays cordoned."
            drain.say(drain.message)
            raise
        finally:
            drain.finished = time.time()
            if on_done is not None:
                await on_done(drain)

    drain.task = asyncio.create_task(task(), name=f"drain {cluster.slug}/{node}")
    drains.keep(drain)
    return drain
