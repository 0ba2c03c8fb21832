"""The terminal: exec into (or attach to) a container from the browser.

``…/pods/{name}/exec`` and ``…/pods/{name}/attach`` answer an HTML page (and
its JSON twin) over HTTP, and the terminal's WebSocket on the same path:

    xterm.js ⇄ WebSocket ⇄ this module ⇄ WebSocket (v5/v4.channel.k8s.io) ⇄ API server

Browser → server: the first text message is ``{"type":"hello","csrf":…,
"cols":…,"rows":…}``; then binary messages are keystrokes (stdin) and text
messages are JSON controls (``resize``, ``eof``). Server → browser: binary
messages are terminal output; text messages are JSON events (``connected``,
``info``, ``exit``, ``error``). A browser cannot put a token on a WebSocket and
sends the SameSite cookie with it, so a cross-site page could try to open a
shell here: the Origin must be this site and the hello must carry the page's
CSRF token (double submit, as for every write).

With no command, the shell is found as Headlamp and Lens do: try
``/bin/bash``, and if the container has none, ``/bin/sh``.

When the browser leaves, the upstream WebSocket is closed; for a shell on a
TTY an EOT (Ctrl-D) goes first, because the API server keeps an exec open
until the remote process ends, and an idle shell ends only on that.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
import websockets
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from kubelantern import errors, urls
from kubelantern.auth.access import Check
from kubelantern.clusters.store import Cluster
from kubelantern.operate import audit, nodeshell
from kubelantern.operate.readonly import is_read_only, refusal
from kubelantern.streams import logs as podlogs
from kubelantern.streams.remote import (
    ERROR,
    STDERR,
    STDOUT,
    ChannelSocket,
    ExitStatus,
    open_channel,
)
from kubelantern.web.context import cluster_context
from kubelantern.web.csrf import COOKIE
from kubelantern.web.nav import nav_context
from kubelantern.web.render import render, wants_json
from kubelantern.web.responses import error_data
from kubelantern.web.state import AppState

log = logging.getLogger(__name__)

ACTIONS = ("exec", "attach")
AUTO_SHELLS: tuple[tuple[str, ...], ...] = (("/bin/bash",), ("/bin/sh",))
SHELLS = ("auto", "/bin/bash", "/bin/sh", "/bin/ash", "/bin/zsh")
HELLO_TIMEOUT = 10.0
FALLBACK_OUTPUT_LIMIT = 1024
"""A failed start prints little; more output than this means the shell ran."""

CLOSE_POLICY = 1008


def _state(conn: HTTPConnection) -> AppState:
    state: AppState = conn.app.state.kl
    return state


def same_origin(conn: HTTPConnection) -> bool:
    """The page that opens the socket is ours (browsers always send Origin on a WebSocket).

    Without an Origin the client is not a browser, and CSRF is a browser attack.
    """
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    host = conn.headers.get("x-forwarded-host") or conn.headers.get("host", "")
    return origin != "null" and urlsplit(origin).netloc == host


def commands_for(action: str, command: list[str], shell: str) -> list[tuple[str, ...]]:
    """The commands to try in turn; an explicit command or shell is tried alone."""
    if action == "attach":
        return [()]
    if len(command) == 1 and " " in command[0].strip():
        command = shlex.split(command[0])
    if command:
        return [tuple(command)]
    if shell and shell != "auto":
        return [(shell,)]
    return list(AUTO_SHELLS)


def _read_only(state: AppState, cluster: Cluster) -> bool:
    return is_read_only(state.settings, cluster)


# --- the page ----------------------------------------------------------------


async def terminal_view(
    request: Request, cluster: Cluster, resource: str, namespace: str, name: str, action: str
) -> Response:
    """The terminal page, or why there is none (RBAC, read-only, no such container)."""
    ctx = cluster_context(request, cluster)
    creds = ctx.credentials
    rt = await cluster_context(request, cluster).resolve(resource)
    if rt.name != "pods" or action not in ACTIONS:
        raise errors.BadRequest(f"{action} is only possible for pods", cluster=cluster.slug)
    pod = await podlogs.get_pod(cluster, creds, namespace, name)
    q = request.query_params
    conts = [c for c in podlogs.containers(pod) if c["kind"] != "init" or c["state"] == "running"]
    names = [c["name"] for c in conts]
    container = q.get("container") or podlogs.default_container(pod)
    if container not in names:
        raise errors.BadRequest(
            f"pod {name} has no running container {container!r}; it has {', '.join(names)}"
        )
    shell = q.get("shell", "auto")
    raw = q.getlist("command")
    command = list(commands_for("exec", raw, "")[0]) if raw and action == "exec" else []
    decision = await ctx.can(
        Check(verb="create", resource="pods", subresource=action, namespace=namespace, name=name)
    )
    read_only = _read_only(_state(request), cluster)
    phase = (pod.get("status") or {}).get("phase", "")
    query: list[tuple[str, str]] = [("container", container)]
    if action == "exec":
        query += [("command", c) for c in command] if command else [("shell", shell)]
    problem = ""
    if read_only:
        problem = "Kubelantern is read-only for this cluster: no terminal sessions."
    elif not decision.allowed:
        problem = decision.reason or f"RBAC does not let you create pods/{action}"
    elif phase not in ("Running", ""):
        problem = f"The pod is {phase}: {action} needs a running container."
    cont = next(c for c in conts if c["name"] == container)
    data = {
        "clusterName": cluster.slug,
        "namespace": namespace,
        "name": name,
        "resource": rt.to_dict(),
        "action": action,
        "containers": conts,
        "container": container,
        "shell": shell if not command else "",
        "shells": list(SHELLS),
        "command": command,
        "phase": phase,
        "readOnly": read_only,
        "access": {action: decision.to_dict()},
        "problem": problem,
        "interactive": action == "exec" or cont["stdin"],
        "objectUrl": urls.object_url(cluster, "pods", namespace, name),
        "socketUrl": urls.object_url(cluster, "pods", namespace, name, action, query=query),
    }
    context = None
    if not wants_json(request):
        context = {"nav": await nav_context(request, cluster, namespace, "pods")}
    return render(request, "terminal.html", data, context=context)


# --- the socket ----------------------------------------------------------------


async def _send_json(websocket: WebSocket, data: dict[str, Any]) -> None:
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await websocket.send_text(orjson.dumps(data).decode())


async def _close(websocket: WebSocket, code: int = 1000, reason: str = "") -> None:
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, OSError):
            await websocket.close(code=code, reason=reason[:120])


def _error_event(exc: errors.KubelanternError) -> dict[str, Any]:
    return {"type": "error", **error_data(exc)["error"]}


async def _hello(websocket: WebSocket) -> dict[str, Any] | None:
    """The first message, with the CSRF token; None (and the socket closed) if bad."""
    try:
        message = await asyncio.wait_for(websocket.receive(), HELLO_TIMEOUT)
    except TimeoutError:
        await _close(websocket, CLOSE_POLICY, "no hello")
        return None
    if message["type"] == "websocket.disconnect":
        return None
    try:
        hello = orjson.loads(message.get("text") or b"")
    except orjson.JSONDecodeError:
        hello = None
    cookie = websocket.cookies.get(COOKIE, "")
    sent = str(hello.get("csrf") or "") if isinstance(hello, dict) else ""
    if not isinstance(hello, dict) or not cookie or not hmac.compare_digest(sent, cookie):
        err = errors.KubelanternError(
            "The terminal did not present this page's CSRF token. Reload the page and retry."
        )
        err.status, err.title = 403, "Request refused (CSRF)"
        await _send_json(websocket, _error_event(err))
        await _close(websocket, CLOSE_POLICY, "csrf")
        return None
    return hello


def _size(data: dict[str, Any]) -> tuple[int, int] | None:
    try:
        cols, rows = int(data["cols"]), int(data["rows"])
    except (KeyError, TypeError, ValueError):
        return None
    if 0 < cols <= 1000 and 0 < rows <= 1000:
        return cols, rows
    return None


@dataclass
class RelayEnd:
    upstream_ended: bool
    status: ExitStatus | None
    output: int


async def relay(websocket: WebSocket, session: ChannelSocket) -> RelayEnd:
    """Copy both ways until one side ends; the other is then stopped."""
    output = 0
    status: ExitStatus | None = None

    async def upstream_to_browser() -> None:
        nonlocal output, status
        async for channel, data in session.frames():
            if channel in (STDOUT, STDERR):
                output += len(data)
                await websocket.send_bytes(data)
            elif channel == ERROR:
                status = ExitStatus.from_bytes(data)

    async def browser_to_upstream() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                await session.send_stdin(message["bytes"])
                continue
            try:
                control = orjson.loads(message.get("text") or b"{}")
            except orjson.JSONDecodeError:
                continue
            if not isinstance(control, dict):
                continue
            if control.get("type") == "resize" and (size := _size(control)):
                await session.resize(*size)
            elif control.get("type") == "stdin" and isinstance(control.get("data"), str):
                await session.send_stdin(control["data"].encode())
            elif control.get("type") == "eof":
                await session.close_stdin()

    up = asyncio.create_task(upstream_to_browser())
    down = asyncio.create_task(browser_to_upstream())
    try:
        done, _pending = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await _state(websocket).closing.stop((up, down))
    upstream_ended = up in done and up.exception() is None
    if down in done and isinstance(down.exception(), websockets.ConnectionClosed):
        upstream_ended = True  # writing stdin found the upstream gone
    return RelayEnd(upstream_ended, status, output)


async def terminal_socket(websocket: WebSocket) -> None:
    """``WS …/pods/{name}/exec|attach``: a shell session for the signed-in person.

    A node shell pod this process created is deleted when its attach ends
    (``operate.nodeshell``): it exists only for that session.
    """
    try:
        await _terminal_session(websocket)
    finally:
        params = websocket.path_params
        if params.get("action") == "attach":
            shell = _state(websocket).shells.forget(
                params["cluster"], params["namespace"], params["name"]
            )
            if shell is not None:
                with contextlib.suppress(errors.KubelanternError):
                    await nodeshell.delete(shell.cluster, shell.creds, shell.namespace, shell.name)
                log.info("node shell pod %s/%s deleted: session ended", shell.namespace, shell.name)


async def _terminal_session(websocket: WebSocket) -> None:
    params = websocket.path_params
    action = params["action"]
    if action not in ACTIONS or not same_origin(websocket):
        await websocket.close(CLOSE_POLICY)  # before accept: the upgrade is answered 403
        return
    await websocket.accept()
    hello = await _hello(websocket)
    if hello is None:
        return
    state = _state(websocket)
    namespace, name = params["namespace"], params["name"]
    q = websocket.query_params
    try:
        cluster = state.clusters.get(params["cluster"])
        if _read_only(state, cluster):
            raise refusal(state.settings, cluster)
        creds = cluster_context(websocket, cluster).credentials
        container = q.get("container", "")
        stdin, tty = True, q.get("tty", "1") not in ("0", "false")
        if action == "attach":
            pod = await podlogs.get_pod(cluster, creds, namespace, name)
            cont = next((c for c in podlogs.containers(pod) if c["name"] == container), None)
            if cont is None:
                raise errors.BadRequest(f"pod {name} has no container {container!r}")
            stdin, tty = cont["stdin"], cont["tty"]
        attempts = commands_for(action, q.getlist("command"), q.get("shell", "auto"))
    except errors.KubelanternError as exc:
        await _send_json(websocket, _error_event(exc))
        await _close(websocket, 4000 + exc.status if exc.status < 1000 else 1011)
        return
    size = _size(hello)
    # Every session, and every refusal, is one audit line (verb create, as RBAC sees it).
    write = functools.partial(
        _state(websocket).audit.record,
        websocket,
        cluster,
        verb="create",
        resource=f"pods/{action}",
        namespace=namespace,
        name=name,
    )
    for i, command in enumerate(attempts):
        last = i == len(attempts) - 1
        try:
            async with open_channel(
                cluster,
                creds,
                namespace,
                name,
                action=action,
                container=container,
                command=command,
                stdin=stdin,
                tty=tty,
            ) as session:
                await _send_json(
                    websocket,
                    {
                        "type": "connected",
                        "protocol": session.protocol,
                        "command": list(command),
                        "container": container,
                        "tty": tty,
                        "stdin": stdin,
                    },
                )
                log.info(
                    "%s session %s/%s container=%s command=%s protocol=%s identity=%s",
                    action,
                    namespace,
                    name,
                    container,
                    list(command),
                    session.protocol,
                    cluster_context(websocket, cluster).identity,
                )
                await write(
                    result="ok",
                    status=101,
                    message=f"container {container or '(default)'}: {' '.join(command)}",
                )
                if size and tty:
                    await session.resize(*size)
                end = await relay(websocket, session)
                if not end.upstream_ended and action == "exec" and stdin:
                    await session.hang_up(tty)
        except errors.KubelanternError as exc:
            log.info("%s %s/%s refused: %s", action, namespace, name, exc.message)
            result, code, message = audit.result_of(exc)
            await write(result=result, status=code, message=message)
            await _send_json(websocket, _error_event(exc))
            await _close(websocket, 4000 + exc.status if exc.status < 1000 else 1011)
            return
        if not end.upstream_ended:
            log.debug("%s %s/%s: browser left; upstream closed", action, namespace, name)
            return
        status = end.status
        if (
            not last
            and status is not None
            and status.command_not_found
            and end.output <= FALLBACK_OUTPUT_LIMIT
        ):
            message = f"{command[0]} is not in this container; trying {attempts[i + 1][0]}"
            await _send_json(websocket, {"type": "info", "message": message})
            continue
        event: dict[str, Any] = {"type": "exit"}
        if status is not None:
            event.update(status.to_dict())
        else:
            event.update(success=True, exitCode=None, message="the session ended", reason="")
        await _send_json(websocket, event)
        await _close(websocket, 1000)
        return
