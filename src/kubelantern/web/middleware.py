"""Small ASGI middlewares: the ``.json`` twin suffix and request logging."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kubelantern import logsetup

access_log = logging.getLogger("kubelantern.access")
# An id an Ingress already gave the request is kept, so its logs and ours match.
_INBOUND_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class JsonSuffix:
    """``/path.json`` is the JSON twin of ``/path``: strip the suffix, remember it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith(".json"):
            scope = dict(scope)
            scope["path"] = scope["path"][: -len(".json")] or "/"
            raw = scope.get("raw_path")
            if raw and raw.endswith(b".json"):
                scope["raw_path"] = raw[: -len(b".json")] or b"/"
            scope["kl_json"] = True
        await self.app(scope, receive, send)


class RequestLog:
    """One access-log line per request, with a request id echoed in X-Request-Id.

    Only method, path, status and timing are logged: never headers or query
    strings, which could carry tokens. The id is also in ``logsetup.request_id``
    for the whole request (WebSockets too), so every log line of it carries it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        inbound = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = inbound if _INBOUND_ID.match(inbound) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        token = logsetup.request_id.set(request_id)
        if scope["type"] == "websocket":
            try:
                await self.app(scope, receive, send)
            finally:
                logsetup.request_id.reset(token)
            return
        start = time.monotonic()
        status: dict[str, Any] = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            logsetup.request_id.reset(token)
            access_log.info(
                "%s %s %s %.1fms",
                scope["method"],
                scope["path"],
                status["code"],
                (time.monotonic() - start) * 1000,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status["code"],
                    "duration_ms": round((time.monotonic() - start) * 1000, 1),
                },
            )
