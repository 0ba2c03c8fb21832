"""Node shells: a privileged pod on a node whose terminal enters the node's namespaces.

As ``kubectl node-shell`` and Lens do: a pod pinned to the node (``nodeName``),
with ``hostPID``, ``hostNetwork`` and ``hostIPC``, one privileged container that
runs ``nsenter --target 1 --mount --uts --ipc --net --pid`` into a shell, with
stdin and a TTY so the terminal attaches to it. It is created with the
person's own credentials (RBAC on ``create pods`` in the shell namespace, and
admission such as Pod Security, decide).

It must not outlive its use: the terminal deletes it when the session ends
(``exec.terminal_socket``), ``activeDeadlineSeconds`` ends it on the node
after the TTL, and ``ShellPods.sweep`` deletes any this process made whose
TTL passed (the browser went away before or without a session).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson

from kubelantern import errors
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.store import Cluster

log = logging.getLogger(__name__)

LABEL = "kubelantern.io/node-shell"
CONTAINER = "shell"
SHELL = "exec bash -l 2>/dev/null || exec sh -l"


def pod_manifest(node: str, image: str, ttl: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": f"node-shell-{node[:40]}-",
            "labels": {LABEL: node[:63], "app.kubernetes.io/managed-by": "kubelantern"},
        },
        "spec": {
            "nodeName": node,
            "hostPID": True,
            "hostNetwork": True,
            "hostIPC": True,
            "restartPolicy": "Never",
            "activeDeadlineSeconds": ttl,
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "tolerations": [{"operator": "Exists"}],
            "containers": [
                {
                    "name": CONTAINER,
                    "image": image,
                    "command": [
                        "nsenter",
                        "--target",
                        "1",
                        "--mount",
                        "--uts",
                        "--ipc",
                        "--net",
                        "--pid",
                        "--",
                        "sh",
                        "-c",
                        SHELL,
                    ],
                    "stdin": True,
                    "stdinOnce": True,
                    "tty": True,
                    "securityContext": {"privileged": True},
                }
            ],
        },
    }


def _path(namespace: str, name: str = "") -> str:
    base = f"/api/v1/namespaces/{quote(namespace, safe='')}/pods"
    return f"{base}/{quote(name, safe='')}" if name else base


async def create(
    cluster: Cluster, creds: Credentials | None, namespace: str, node: str, image: str, ttl: int
) -> str:
    manifest = pod_manifest(node, image, ttl)
    pod = await cluster.client.post_json(
        _path(namespace),
        manifest,
        credentials=creds,
        verb="create",
        resource="pods",
        namespace=namespace,
    )
    return str(pod["metadata"]["name"])


async def wait_running(
    cluster: Cluster, creds: Credentials | None, namespace: str, name: str, timeout: float
) -> str:
    """The pod's phase once it runs, fails, or the timeout passes (image pulls take time)."""
    deadline = time.monotonic() + timeout
    phase = ""
    while time.monotonic() < deadline:
        pod = await cluster.client.json(
            "GET",
            _path(namespace, name),
            credentials=creds,
            verb="get",
            resource="pods",
            namespace=namespace,
        )
        phase = str((pod.get("status") or {}).get("phase") or "")
        if phase in ("Running", "Succeeded", "Failed"):
            return phase
        await asyncio.sleep(0.5)
    return phase


async def delete(cluster: Cluster, creds: Credentials | None, namespace: str, name: str) -> None:
    with contextlib.suppress(errors.NotFound):
        await cluster.client.request(
            "DELETE",
            _path(namespace, name),
            credentials=creds,
            content=orjson.dumps({"gracePeriodSeconds": 0}),
            headers={"Content-Type": "application/json"},
            verb="delete",
            resource="pods",
            namespace=namespace,
        )


def is_node_shell(pod: dict[str, Any]) -> bool:
    return LABEL in ((pod.get("metadata") or {}).get("labels") or {})


@dataclass
class ShellPod:
    cluster: Cluster
    creds: Credentials | None
    namespace: str
    name: str
    deadline: float


class ShellPods:
    """Node shell pods this process created, so none outlives its TTL here."""

    def __init__(self) -> None:
        self._pods: dict[tuple[str, str, str], ShellPod] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def add(self, pod: ShellPod) -> None:
        self._pods[(pod.cluster.slug, pod.namespace, pod.name)] = pod
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep_loop())

    def forget(self, cluster: str, namespace: str, name: str) -> ShellPod | None:
        return self._pods.pop((cluster, namespace, name), None)

    async def sweep(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        due = [k for k, p in self._pods.items() if p.deadline <= now]
        for key in due:
            pod = self._pods.pop(key)
            try:
                await delete(pod.cluster, pod.creds, pod.namespace, pod.name)
                log.info("node shell pod %s/%s deleted after its TTL", pod.namespace, pod.name)
            except errors.KubelanternError as exc:
                log.warning("node shell pod %s/%s: %s", pod.namespace, pod.name, exc.message)
        return len(due)

    async def _sweep_loop(self) -> None:
        while self._pods:
            await asyncio.sleep(30)
            await self.sweep()

    async def close(self) -> None:
        """On shutdown: delete every shell pod still known (nobody can use it any more)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        await self.sweep(now=float("inf"))
