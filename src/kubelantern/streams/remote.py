"""Exec and attach: a WebSocket to the API server speaking the channel protocol.

Every binary message is one channel byte and a payload: 0 stdin, 1 stdout,
2 stderr, 3 error (a ``metav1.Status`` when the process ends), 4 resize
(``{"Width":W,"Height":H}``); ``v5.channel.k8s.io`` adds 255 = close a stream.
We offer v5 first and v4 second in one handshake, so the API server picks the
newest it speaks: 1.30+ terminates v5 itself; older servers pass v4 on to the
kubelet. Nothing needs base64 or SPDY.

The library is ``websockets`` (httpx cannot upgrade), fed with the cluster
client's own TLS context and the user's identity headers.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from kubelantern import errors
from kubelantern.clusters.addresses import AddressRefused, resolve_checked
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import segment
from kubelantern.clusters.store import Cluster
from kubelantern.clusters.tls import tls_name_hint

PROTOCOLS: tuple[str, ...] = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
MAX_FRAME = 1 << 20
"""Largest frame accepted from the API server (kubelets send 32 KiB at most)."""

_NOT_FOUND = re.compile(
    r"no such file|not found|executable file not found|cannot find|does not exist", re.I
)


@dataclass(frozen=True)
class ExitStatus:
    """How a remote process ended, from the Status on the error channel."""

    success: bool
    exit_code: int | None
    message: str
    reason: str = ""

    @classmethod
    def from_bytes(cls, raw: bytes) -> ExitStatus:
        try:
            doc = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            return cls(False, None, raw.decode("utf-8", "replace").strip())
        if not isinstance(doc, dict):
            return cls(False, None, str(doc))
        return cls.from_status(doc)

    @classmethod
    def from_status(cls, doc: dict[str, Any]) -> ExitStatus:
        if doc.get("status") == "Success":
            return cls(True, 0, "")
        reason = str(doc.get("reason") or "")
        code: int | None = None
        if reason == "NonZeroExitCode":
            for cause in (doc.get("details") or {}).get("causes") or []:
                if cause.get("reason") == "ExitCode":
                    try:
                        code = int(cause.get("message", ""))
                    except ValueError:
                        code = None
        return cls(False, code, str(doc.get("message") or reason or "failed"), reason)

    @property
    def command_not_found(self) -> bool:
        """The command could not be started (the shell is not in the image)."""
        return not self.success and self.exit_code is None and bool(_NOT_FOUND.search(self.message))

    def to_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "exitCode": self.exit_code,
            "message": self.message,
            "reason": self.reason,
        }


class ChannelSocket:
    """One exec or attach session: write stdin and resizes, read output frames."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws

    @property
    def protocol(self) -> str:
        return str(self._ws.subprotocol or "")

    async def send_stdin(self, data: bytes) -> None:
        await self._ws.send(bytes([STDIN]) + data)

    async def resize(self, cols: int, rows: int) -> None:
        body = orjson.dumps({"Width": max(1, cols), "Height": max(1, rows)})
        await self._ws.send(bytes([RESIZE]) + body)

    async def close_stdin(self) -> None:
        """End of input (v5 only; v4 has no way to say it but closing everything)."""
        if self.protocol.startswith("v5."):
            await self._ws.send(bytes([CLOSE, STDIN]))

    async def hang_up(self, tty: bool) -> None:
        """The person left: end the remote shell if it is at its prompt, then close stdin.

        Closing the WebSocket alone is not enough: the API server (v5) keeps its
        stream to the kubelet until the remote process exits, and a shell on a
        TTY never sees end-of-file. An EOT (Ctrl-D) makes an idle shell exit;
        a running program ignores it. Best effort, errors are ignored.
        """
        try:
            if tty:
                await self.send_stdin(b"\x04")
            await self.close_stdin()
        except websockets.ConnectionClosed:
            pass

    async def frames(self) -> AsyncIterator[tuple[int, bytes]]:
        """(channel, payload) until the server closes; empty frames are skipped."""
        try:
            async for message in self._ws:
                if isinstance(message, str):
                    message = message.encode()
                if len(message) < 2:
                    continue  # the opening empty frame on the lowest channel
                yield message[0], message[1:]
        except websockets.ConnectionClosedError:
            return


def socket_url(server: str, path: str, params: list[tuple[str, str]]) -> str:
    base = server.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return f"{base}{path}?{urlencode(params)}"


def stream_params(
    *,
    container: str,
    command: Sequence[str],
    stdin: bool,
    tty: bool,
    stderr: bool = True,
) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = [("container", container)] if container else []
    params += [("command", c) for c in command]
    params += [("stdin", "true" if stdin else "false"), ("stdout", "true")]
    # With a TTY, stderr is merged into stdout by the terminal; asking for both is an error.
    params.append(("stderr", "false" if tty else ("true" if stderr else "false")))
    params.append(("tty", "true" if tty else "false"))
    return params


def _handshake_error(
    exc: websockets.InvalidStatus, cluster: Cluster, action: str, namespace: str
) -> errors.KubelanternError:
    response = exc.response
    body = bytes(response.body or b"")
    try:
        doc = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        doc = {}
    if not isinstance(doc, dict):
        doc = {}
    message = str(doc.get("message") or body[:300].decode("utf-8", "replace").strip())
    cls = errors.api_error_for(response.status_code)
    return cls(
        message or f"HTTP {response.status_code}",
        status=response.status_code,
        reason=str(doc.get("reason") or ""),
        details=doc.get("details") or {},
        cluster=cluster.slug,
        verb="create",
        resource=f"pods/{action}",
        namespace=namespace,
    )


def protocol_choices(action: str) -> tuple[tuple[str, ...], ...]:
    """Subprotocol sets to try in turn: one handshake each.

    Exec offers v5 then v4 in one handshake (the server picks). Attach asks for
    v4 first: with v5 the API server translates to SPDY and, when the browser
    leaves, keeps the attach open for as long as the container writes (nothing
    tells it to stop: attach has no process of its own to end); a v4 attach is
    proxied to the kubelet and ends with the WebSocket. Offering v5 in the same
    handshake would select the translator, hence a second handshake for v5.
    """
    if action == "attach":
        return (("v4.channel.k8s.io",), ("v5.channel.k8s.io",))
    return (PROTOCOLS,)


async def _connect(
    cluster: Cluster,
    url: str,
    ctx: ssl.SSLContext,
    headers: Sequence[tuple[str, str]],
    protocols: Sequence[str],
    action: str,
    namespace: str,
) -> ClientConnection:
    extra: dict[str, Any] = {}
    if cluster.config.tls_server_name and url.startswith("wss://"):
        # kubeconfig tls-server-name: the name for SNI and certificate checks.
        extra["server_hostname"] = cluster.config.tls_server_name
    guard = cluster.client.guard
    if guard is not None and not cluster.config.proxy_url:
        # A cluster added from the UI: connect to an address checked just now
        # (clusters.addresses); TLS still verifies the URL's host name.
        try:
            extra["host"] = await resolve_checked(url, guard)
        except AddressRefused as exc:
            raise errors.ClusterUnavailable(
                f"cannot open {action} to {cluster.config.server}: {exc}", cluster=cluster.slug
            ) from exc
    try:
        return await connect(
            url,
            ssl=ctx if url.startswith("wss://") else None,
            subprotocols=[Subprotocol(p) for p in protocols],
            additional_headers=headers,
            user_agent_header="kubelantern",
            proxy=cluster.config.proxy_url or None,
            open_timeout=cluster.client.timeout,
            close_timeout=2,
            compression=None,
            max_size=MAX_FRAME,
            **extra,
        )
    except websockets.InvalidStatus as exc:
        raise _handshake_error(exc, cluster, action, namespace) from exc
    except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
        reason = tls_name_hint(cluster.config, exc) or str(exc) or type(exc).__name__
        raise errors.ClusterUnavailable(
            f"cannot open {action} to {cluster.config.server}: {reason}",
            cluster=cluster.slug,
        ) from exc


@asynccontextmanager
async def open_channel(
    cluster: Cluster,
    credentials: Credentials | None,
    namespace: str,
    pod: str,
    *,
    action: str,
    container: str,
    command: Sequence[str] = (),
    stdin: bool = True,
    tty: bool = True,
    protocols: Sequence[Sequence[str]] | None = None,
) -> AsyncIterator[ChannelSocket]:
    """A session of ``action`` ("exec" or "attach"); refusals raise ApiError first.

    ``protocols`` are the subprotocol sets to try in turn (``protocol_choices``);
    a refusal (401, 403, 404) is final, any other failed handshake tries the next.
    """
    if action not in ("exec", "attach"):
        raise errors.BadRequest(f"unknown pod stream {action!r}")
    if action == "exec" and not command:
        raise errors.BadRequest("exec needs a command")
    server, ctx, headers = await cluster.client.websocket_params(credentials)
    path = f"/api/v1/namespaces/{segment(namespace)}/pods/{segment(pod)}/{action}"
    params = stream_params(
        container=container, command=command if action == "exec" else (), stdin=stdin, tty=tty
    )
    url = socket_url(server, path, params)
    choices = list(protocols or protocol_choices(action))
    for i, offer in enumerate(choices):
        try:
            ws = await _connect(cluster, url, ctx, headers, offer, action, namespace)
            break
        except errors.KubelanternError as exc:
            final = isinstance(exc, errors.ApiError) and exc.status in (401, 403, 404)
            if final or i == len(choices) - 1:
                raise
    try:
        yield ChannelSocket(ws)
    finally:
        await ws.close()
