"""Port-forward: a listener on 127.0.0.1 relayed to a pod port through the API server.

Each accepted TCP connection gets its own WebSocket to
``/api/v1/namespaces/{ns}/pods/{pod}/portforward?ports={port}`` with the
subprotocol ``v4.channel.k8s.io`` (the API server passes it on to the kubelet):

* channel 0 carries the data, channel 1 the errors of the one port asked for;
* the first frame the server sends on each channel is the port number, two
  bytes little-endian; it is not data and is dropped;
* the client sends ``b"\\x00" + bytes`` for data; closing the socket ends it.

One WebSocket per connection is how kubectl's WebSocket port-forward kept TCP
connections apart before SPDY-over-WebSocket tunnelling; it needs no stream
multiplexing of our own. Targets that are a Service or a Deployment are
resolved to a ready pod again for every new connection, so a forward survives
the pod being replaced (kubectl resolves once and ends with the pod).

A forward binds a port of the machine Kubelantern runs on, so it is only offered
when that machine is the person's own (``port_forward`` setting).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import websockets
from websockets.asyncio.client import ClientConnection

from kubelantern import errors, urls
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.store import Cluster
from kubelantern.streams.remote import _connect, socket_url

log = logging.getLogger(__name__)

PROTOCOL = "v4.channel.k8s.io"
DATA, ERROR = 0, 1
HOST = "127.0.0.1"
READ_SIZE = 32 * 1024
KINDS = ("pods", "services", "deployments")


@dataclass(frozen=True)
class Target:
    """What to forward to: a pod, or a Service/Deployment resolved to one of its pods."""

    kind: str
    namespace: str
    name: str
    port: int  # the pod's port, or the Service's port for a Service


def _ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") != "Running" or (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    conds = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    return conds.get("Ready") == "True"


def pick_pod(pods: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A ready pod, newest first, as kubectl prefers running and ready pods."""
    ready = [p for p in pods if _ready(p)]
    ready.sort(key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp", "")))
    return ready[-1] if ready else None


def container_port(pod: dict[str, Any], target_port: int | str) -> int:
    """A Service's targetPort (a number or a container port name) on this pod."""
    if isinstance(target_port, int):
        return target_port
    if target_port.isdigit():
        return int(target_port)
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target_port:
                return int(p["containerPort"])
    raise errors.BadRequest(f"pod has no container port named {target_port!r}")


def selector_query(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


async def resolve(cluster: Cluster, creds: Credentials | None, target: Target) -> tuple[str, int]:
    """(pod name, pod port) for a target; a Service/Deployment without a ready pod is an error."""
    ns = quote(target.namespace, safe="")
    if target.kind == "pods":
        return target.name, target.port
    if target.kind == "services":
        obj = await cluster.client.json(
            "GET",
            f"/api/v1/namespaces/{ns}/services/{quote(target.name, safe='')}",
            credentials=creds,
            verb="get",
            resource="services",
            namespace=target.namespace,
        )
        spec = obj.get("spec") or {}
        sport = next((p for p in spec.get("ports") or [] if p.get("port") == target.port), None)
        if sport is None:
            raise errors.BadRequest(f"service {target.name} has no port {target.port}")
        selector = spec.get("selector") or {}
        target_port: int | str = sport.get("targetPort") or target.port
    elif target.kind == "deployments":
        obj = await cluster.client.json(
            "GET",
            f"/apis/apps/v1/namespaces/{ns}/deployments/{quote(target.name, safe='')}",
            credentials=creds,
            verb="get",
            resource="deployments",
            namespace=target.namespace,
        )
        selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        target_port = target.port
    else:
        raise errors.BadRequest(f"cannot port-forward to {target.kind}")
    if not selector:
        raise errors.BadRequest(f"{target.kind} {target.name} selects no pods")
    pods = await cluster.client.json(
        "GET",
        f"/api/v1/namespaces/{ns}/pods",
        params={"labelSelector": selector_query(selector)},
        credentials=creds,
        verb="list",
        resource="pods",
        namespace=target.namespace,
    )
    pod = pick_pod(pods.get("items") or [])
    if pod is None:
        raise errors.BadRequest(f"{target.kind} {target.name} has no ready pod to forward to")
    return str(pod["metadata"]["name"]), container_port(pod, target_port)


async def open_tunnel(
    cluster: Cluster, creds: Credentials | None, namespace: str, pod: str, port: int
) -> ClientConnection:
    server, ctx, headers = await cluster.client.websocket_params(creds)
    path = f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}/portforward"
    url = socket_url(server, path, [("ports", str(port))])
    return await _connect(cluster, url, ctx, headers, (PROTOCOL,), "portforward", namespace)


async def relay(
    ws: ClientConnection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> str:
    """Copy both ways until either side ends; the error the kubelet reported, if any."""
    problem = ""

    async def up() -> None:
        while data := await reader.read(READ_SIZE):
            await ws.send(bytes([DATA]) + data)

    async def down() -> None:
        nonlocal problem
        seen_port: set[int] = set()
        async for message in ws:
            if isinstance(message, str):
                message = message.encode()
            if not message:
                continue
            channel, payload = message[0], message[1:]
            if channel not in seen_port:
                seen_port.add(channel)
                payload = payload[2:]  # the port number that opens each channel
            if not payload:
                continue
            if channel == DATA:
                writer.write(payload)
                await writer.drain()
            elif channel == ERROR:
                problem += payload.decode("utf-8", "replace")

    tasks = [asyncio.create_task(up()), asyncio.create_task(down())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
    return problem.strip()


@dataclass
class Forward:
    """One active forward: a listener and what it relays to."""

    id: str
    cluster: Cluster
    creds: Credentials | None
    target: Target
    owner: str
    local_port: int = 0
    started: float = field(default_factory=time.time)
    connections: int = 0
    active: int = 0
    last_pod: str = ""
    last_error: str = ""
    server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def address(self) -> str:
        return f"{HOST}:{self.local_port}"

    def to_dict(self) -> dict[str, Any]:
        t = self.target
        return {
            "id": self.id,
            "cluster": self.cluster.slug,
            "kind": t.kind,
            "namespace": t.namespace,
            "name": t.name,
            "port": t.port,
            "localPort": self.local_port,
            "address": self.address,
            "url": f"http://{self.address}/",
            "objectUrl": urls.object_url(self.cluster, t.kind, t.namespace, t.name),
            "connections": self.connections,
            "active": self.active,
            "pod": self.last_pod,
            "lastError": self.last_error,
            "started": self.started,
        }

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.active += 1
        try:
            pod, port = await resolve(self.cluster, self.creds, self.target)
            self.last_pod = pod
            ws = await open_tunnel(self.cluster, self.creds, self.target.namespace, pod, port)
            try:
                problem = await relay(ws, reader, writer)
            finally:
                await ws.close()
            if problem:
                self.last_error = problem
                log.info("port-forward %s: %s", self.id, problem)
        except errors.KubelanternError as exc:
            self.last_error = exc.message
            log.info("port-forward %s: %s", self.id, exc.message)
        except (OSError, websockets.WebSocketException) as exc:
            self.last_error = str(exc) or type(exc).__name__
        finally:
            self.active -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _spawn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._handle(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self, local_port: int) -> None:
        try:
            self.server = await asyncio.start_server(
                lambda r, w: self._spawn(r, w), HOST, local_port, reuse_address=False
            )
        except OSError as exc:
            raise port_refusal(local_port, exc) from exc
        sock = self.server.sockets[0]
        self.local_port = int(sock.getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 5)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def port_refusal(port: int, exc: OSError) -> errors.KubelanternError:
    if exc.errno == errno.EADDRINUSE:
        err = errors.BadRequest(f"local port {port} is already in use on {HOST}; pick another")
        err.status, err.title = 409, "Port in use"
        return err
    if exc.errno == errno.EACCES:
        return errors.BadRequest(f"local port {port} is privileged: Kubelantern may not bind it")
    return errors.BadRequest(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}")


def check_local_port(port: int) -> None:
    """0 (any free port) or 1024-65535: ports below 1024 are privileged."""
    if port == 0:
        return
    if not 1024 <= port <= 65535:
        if 0 < port < 1024:
            raise errors.BadRequest(
                f"local port {port} is privileged (below 1024); pick 1024-65535 or leave it empty"
            )
        raise errors.BadRequest(f"local port {port} is not a port (1024-65535, or empty)")


class PortForwards:
    """The forwards of this process, by id."""

    def __init__(self) -> None:
        self._by_id: dict[str, Forward] = {}

    def all(self, visible: Callable[[Forward], bool] = lambda f: True) -> list[Forward]:
        return [f for f in self._by_id.values() if visible(f)]

    def get(self, forward_id: str) -> Forward:
        try:
            return self._by_id[forward_id]
        except KeyError:
            err = errors.BadRequest(f"no port-forward {forward_id!r} (stopped already?)")
            err.status, err.title = 404, "Not found"
            raise err from None

    async def start(
        self,
        cluster: Cluster,
        creds: Credentials | None,
        target: Target,
        owner: str,
        local_port: int,
    ) -> Forward:
        check_local_port(local_port)
        if not 1 <= target.port <= 65535:
            raise errors.BadRequest(f"{target.port} is not a port")
        await resolve(cluster, creds, target)  # refuse a target with no pod now, not later
        forward = Forward(secrets.token_hex(6), cluster, creds, target, owner)
        await forward.start(local_port)
        self._by_id[forward.id] = forward
        return forward

    async def stop(self, forward_id: str) -> Forward:
        forward = self.get(forward_id)
        self._by_id.pop(forward_id, None)
        await forward.stop()
        return forward

    async def stop_all(self) -> None:
        for forward_id in list(self._by_id):
            await self.stop(forward_id)
